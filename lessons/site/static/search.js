/* Search in the browser for a site made by `lessons site`.
 *
 * Loads search/index.json (written by lessons/site/searchindex.py) into MiniSearch,
 * then answers the search form as one types: ranked (BM25, the title and tags
 * weighing more), by the start of a word, forgiving typos, with filters by kind,
 * tag, campaign, team and year. Record text is only ever put on the page as text
 * (textContent), never as HTML.
 */
(function () {
  'use strict';

  var PAGE = 50;
  var results = document.getElementById('results');
  var form = document.getElementById('search-form');
  if (!results || !form || typeof MiniSearch === 'undefined') {
    return;
  }
  var root = results.getAttribute('data-root') || '';
  var status = document.getElementById('search-status');
  var more = document.getElementById('more');
  var input = document.getElementById('q');
  var FILTERS = ['kind', 'tag', 'campaign', 'team', 'year'];
  var index = null;
  var data = null;
  var shown = [];
  var showing = 0;
  var timer = null;
  var reported = false;

  document.documentElement.classList.add('js');
  foldFilters(params());

  // The same words as tokens() in searchindex.py: NFC, lower case, runs of
  // letters and digits.
  function tokenize(text) {
    return text.normalize('NFC').toLowerCase().match(/[\p{L}\p{N}]+/gu) || [];
  }

  // Build MiniSearch's index from the compact lists: what MiniSearch itself
  // would have built from the documents (a test compares the two).
  function load(json) {
    var stop = new Set(json.stop);
    var maxTerm = json.max_term;
    var processTerm = function (term) {
      return term.length > 1 && term.length <= maxTerm && !stop.has(term) ? term : null;
    };
    var fieldIds = {};
    json.fields.forEach(function (name, i) { fieldIds[name] = i; });
    var n = json.docs.length;
    var ms = MiniSearch.loadJS({
      documentCount: n, nextId: n, documentIds: {}, fieldIds: fieldIds, fieldLength: {},
      averageFieldLength: json.avg, storedFields: {}, dirtCount: 0, index: [],
      serializationVersion: 2
    }, {
      fields: json.fields,
      tokenize: tokenize,
      processTerm: processTerm,
      searchOptions: {
        boost: { title: 3, tags: 2 },
        prefix: function (term) { return term.length > 2; },
        fuzzy: function (term) { return term.length > 3 ? 0.2 : false; },
        combineWith: 'AND'
      }
    });
    var nf = json.fields.length;
    var lengths = json.lengths;
    for (var d = 0; d < n; d++) {
      ms._documentIds.set(d, d);
      ms._idToShortId.set(d, d);
      ms._fieldLength.set(d, lengths.slice(d * nf, d * nf + nf));
    }
    var terms = json.terms;
    var postings = json.postings;
    for (var t = 0; t < terms.length; t++) {
      ms._index.set(terms[t], new Postings(postings[t]));
    }
    return ms;
  }

  // A term's documents per field, as MiniSearch keeps them (field -> Map of document
  // -> term frequency), made from the compact lists the first time a search reaches
  // the term: loading the index then builds no Map for the many terms no search
  // touches (a million entries on 10,000 records).
  class Postings extends Map {
    constructor(compact) {
      super();
      this.compact = compact;
    }

    fill() {
      var p = this.compact;
      if (p === null) {
        return;
      }
      this.compact = null;
      for (var k = 0; k < p.length; k += 2) {
        var list = p[k + 1];
        var docs = new Map();
        var doc = -1;
        for (var i = 0; i < list.length; i++) {
          doc += list[i];
          var tf = 1;
          if (i + 1 < list.length && list[i + 1] < 0) {
            tf = -list[++i];
          }
          docs.set(doc, tf);
        }
        super.set(p[k], docs);
      }
    }

    get size() { this.fill(); return super.size; }
    get(key) { this.fill(); return super.get(key); }
    has(key) { this.fill(); return super.has(key); }
    set(key, value) { this.fill(); return super.set(key, value); }
    delete(key) { this.fill(); return super.delete(key); }
    keys() { this.fill(); return super.keys(); }
    values() { this.fill(); return super.values(); }
    entries() { this.fill(); return super.entries(); }
    forEach(fn, self) { this.fill(); return super.forEach(fn, self); }
    [Symbol.iterator]() { this.fill(); return super.entries(); }
  }

  // Performance marks for benchmarks/site_speed.py (and anyone's devtools).
  function mark(name) {
    if (window.performance && performance.mark) {
      performance.mark(name);
    }
  }

  function params() {
    var q = new URLSearchParams(window.location.search);
    var out = { q: q.get('q') || '' };
    FILTERS.forEach(function (f) { out[f] = q.get(f) || ''; });
    return out;
  }

  // On a phone the five filters would push the results below the fold: the box
  // starts closed there unless the page was opened with a filter (it stays open
  // without JavaScript, where the filters are all the page offers).
  function foldFilters(p) {
    var box = document.getElementById('filter-box');
    var narrow = window.matchMedia && window.matchMedia('(max-width: 40em)').matches;
    if (box && narrow && !FILTERS.some(function (f) { return p[f]; })) {
      box.open = false;
    }
  }

  function fromForm() {
    var out = { q: input.value };
    FILTERS.forEach(function (f) { out[f] = form.elements[f].value; });
    return out;
  }

  function toForm(p) {
    input.value = p.q;
    FILTERS.forEach(function (f) {
      var select = form.elements[f];
      select.value = p[f];
      if (select.value !== p[f]) {
        select.value = '';
      }
    });
  }

  function keep(p) {
    var kind = p.kind ? data.kinds.indexOf(p.kind) : -1;
    var tag = p.tag ? data.tags.indexOf(p.tag) : -1;
    var campaign = p.campaign ? data.campaigns.indexOf(p.campaign) : -1;
    var team = p.team ? data.teams.indexOf(p.team) : -1;
    if ((p.kind && kind < 0) || (p.tag && tag < 0) || (p.campaign && campaign < 0) ||
        (p.team && team < 0)) {
      return function () { return false; };
    }
    return function (doc) {
      return (!p.kind || doc[2] === kind) &&
        (!p.tag || doc[4].indexOf(tag) >= 0) &&
        (!p.campaign || doc[5] === campaign) &&
        (!p.team || doc[6] === team) &&
        (!p.year || doc[3].slice(0, 4) === p.year);
    };
  }

  function matching(hits, filter) {
    var out = [];
    for (var i = 0; i < hits.length; i++) {
      var doc = data.docs[hits[i].id];
      if (filter(doc)) {
        out.push({ doc: doc, terms: hits[i].terms });
      }
    }
    return out;
  }

  function run(p) {
    var filter = keep(p);
    var filtered = FILTERS.some(function (f) { return p[f]; });
    var query = p.q.trim();
    var note = '';
    var found = [];
    if (query) {
      found = matching(index.search(query), filter);
      if (!found.length) {
        // No lesson has every word (within the filters): those with some of them.
        found = matching(index.search(query, { combineWith: 'OR' }), filter);
        if (found.length) {
          note = ' (no lesson has every word: these have some of them)';
        }
      }
    } else if (filtered) {
      data.docs.forEach(function (doc) {
        if (filter(doc)) {
          found.push({ doc: doc, terms: [] });
        }
      });
    }
    shown = found;
    showing = 0;
    results.textContent = '';
    if (!query && !filtered) {
      status.textContent = '';
      more.hidden = true;
      return;
    }
    var what = query ? ' for “' + query + '”' : '';
    if (!found.length) {
      status.textContent = 'No lesson found' + what + (filtered ? ' with these filters' : '') + '.';
    } else {
      status.textContent = (found.length === 1 ? '1 lesson' : found.length.toLocaleString('en') +
        ' lessons') + ' found' + what + note + '.';
    }
    page();
    if (found.length && !reported) {
      reported = true;
      mark('lessons-first-result');
    }
  }

  function page() {
    var end = Math.min(shown.length, showing + PAGE);
    for (var i = showing; i < end; i++) {
      results.appendChild(item(shown[i]));
    }
    showing = end;
    more.hidden = showing >= shown.length;
  }

  // Text with the words a search matched in <mark>, built as DOM nodes.
  function marked(parent, text, terms) {
    if (!terms.length) {
      parent.appendChild(document.createTextNode(text));
      return;
    }
    var wanted = new Set(terms);
    var parts = text.split(/([\p{L}\p{N}]+)/u);
    var plain = '';
    parts.forEach(function (part, i) {
      if (i % 2 === 1 && wanted.has(part.normalize('NFC').toLowerCase())) {
        if (plain) {
          parent.appendChild(document.createTextNode(plain));
          plain = '';
        }
        var m = document.createElement('mark');
        m.textContent = part;
        parent.appendChild(m);
      } else {
        plain += part;
      }
    });
    if (plain) {
      parent.appendChild(document.createTextNode(plain));
    }
  }

  function item(hit) {
    var doc = hit.doc;
    var li = document.createElement('li');
    var h = document.createElement('h2');
    var a = document.createElement('a');
    a.href = root + 'lesson/' + encodeURIComponent(doc[0]) + '.html';
    marked(a, doc[1], hit.terms);
    h.appendChild(a);
    li.appendChild(h);
    var meta = document.createElement('p');
    meta.className = 'meta';
    var bits = [data.kinds[doc[2]], doc[3] || 'undated'];
    if (doc[5] >= 0) {
      bits.push(data.campaigns[doc[5]]);
    }
    if (doc[6] >= 0) {
      bits.push(data.teams[doc[6]]);
    }
    meta.textContent = bits.join(' · ');
    li.appendChild(meta);
    // The snippet comes with the record's text (a file of a few hundred records).
    var p = document.createElement('p');
    p.className = 'snippet';
    li.appendChild(p);
    snippet(p, doc, hit.terms);
    if (doc[4].length) {
      var tags = document.createElement('p');
      tags.className = 'tags-line';
      tags.textContent = doc[4].map(function (t) { return data.tags[t]; }).join(', ');
      li.appendChild(tags);
    }
    return li;
  }

  // The snippet: the part of the record's text around the first matched word (or its
  // start, when the words matched only the title or the tags). The
  // texts are in files of a few hundred records each, fetched for the results shown.
  var texts = {};
  function snippet(p, doc, terms) {
    var n = doc[7];
    if (!texts[n]) {
      texts[n] = fetch(root + 'search/text-' + n + '.json', { credentials: 'same-origin' })
        .then(function (response) { return response.ok ? response.json() : {}; })
        .catch(function () { return {}; });
    }
    texts[n].then(function (shard) {
      var text = shard[doc[8] || doc[0]];
      if (!text) {
        return;
      }
      var wanted = new Set(terms);
      var word = /[\p{L}\p{N}]+/gu;
      var found = null;
      var m;
      while ((m = word.exec(text)) !== null) {
        if (wanted.has(m[0].normalize('NFC').toLowerCase())) {
          found = m.index;
          break;
        }
      }
      if (found === null) {
        found = 0;
      }
      var start = Math.max(0, found - 90);
      if (start > 0) {
        var space = text.indexOf(' ', start);
        start = space >= 0 && space < found ? space + 1 : start;
      }
      var end = Math.min(text.length, start + 280);
      if (end < text.length) {
        var back = text.lastIndexOf(' ', end);
        end = back > found ? back : end;
      }
      var cut = (start > 0 ? '…' : '') + text.slice(start, end) + (end < text.length ? '…' : '');
      p.textContent = '';
      marked(p, cut, terms);
    });
  }

  function remember(p) {
    var q = new URLSearchParams();
    if (p.q) {
      q.set('q', p.q);
    }
    FILTERS.forEach(function (f) {
      if (p[f]) {
        q.set(f, p[f]);
      }
    });
    var text = q.toString();
    window.history.replaceState(null, '', text ? '?' + text : window.location.pathname);
  }

  function changed() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var p = fromForm();
      remember(p);
      run(p);
    }, 60);
  }

  status.textContent = 'Loading the search index…';
  fetch(results.getAttribute('data-index'), { credentials: 'same-origin' })
    .then(function (response) {
      if (!response.ok) {
        throw new Error('HTTP ' + response.status);
      }
      return response.text();
    })
    .then(function (text) {
      mark('lessons-index-fetched');
      var json = JSON.parse(text);
      mark('lessons-index-parsed');
      data = json;
      index = load(json);
      mark('lessons-index-loaded');
      // For the tests and anyone scripting the page: the loaded index and its data.
      window.lessonsSearch = { index: index, data: data };
      status.textContent = '';
      var p = params();
      toForm(p);
      run(p);
      input.addEventListener('input', changed);
      form.addEventListener('change', changed);
      form.addEventListener('submit', function (event) {
        event.preventDefault();
        changed();
      });
      more.addEventListener('click', page);
    })
    .catch(function (error) {
      status.textContent = 'The search index could not be loaded (' + error.message +
        '). Browse by tag, campaign, team or date instead.';
    });
}());

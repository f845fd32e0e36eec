# ruff: noqa: E501  (one synonym group per line, however long)
"""The built-in thesaurus: ways people name the same thing in lessons and post-mortems.

One group per line, terms separated by commas; a term may be a phrase. When a
query holds one term of a group, search also looks for the others, at a lower
weight than the words typed (``Tuning.synonym_weight``). Matching ignores case
and light inflection (``resolvers`` finds the entry ``resolver``); the search
itself stems. Groups are general vocabulary of the domains a lessons-learned
knowledge base covers — operations and incidents, software delivery,
projects, security, AI incidents, communications — written from common usage,
not from any evaluation set. ``synonyms:`` in ``lessons.yaml`` adds groups of
a team's own; ``Tuning(thesaurus=False)`` turns these off.

Measured with and without on the held-out judged sets (docs/search.md, "Measured
quality"): it raises recall@10 and hard-query recall@10 where it matters and costs
MRR on one set; without it recall@10 there falls below the search's earlier figure,
so it is kept. Its synonyms never outrank the words typed (literal first).
"""

GROUPS = """
# --- availability and incidents ---------------------------------------------------
outage, downtime, service disruption, unavailability, service interruption, went down
degraded, degradation, partial outage, impaired, brownout
postmortem, post-mortem, incident review, incident report, retrospective, after-action review, root cause analysis, rca
root cause, underlying cause
mitigation, mitigate, workaround, stopgap
recovery, recover, restored, restoration, back online
broke, broken, faulty, malfunction, malfunctioned, defective, stopped working
unresponsive, hung, hang, hanging, froze, frozen, stuck, stalled, wedged
crash, crashed, segfault, segmentation fault, core dump, panic, kernel panic, abort
restart, reboot, rebooted, power cycle, bounce, bounced
cascading failure, cascade, knock-on effect, domino effect, ripple effect
single point of failure, spof
redundancy, redundant, failover capacity, n+1
blast radius, impact radius, scope of impact

# --- load, capacity and traffic -----------------------------------------------------
overload, overloaded, overwhelmed, swamped, saturated, saturation, hammered, hammering, flooded, too much traffic, excessive load
traffic spike, load spike, surge, burst, flash crowd, sudden increase in traffic, thundering herd
throttle, throttling, throttled, rate limit, rate limiting, rate-limited, rate limiter, load shedding
quota, quotas, usage limit, resource limit
capacity, headroom, capacity planning, under-provisioned, underprovisioned
autoscaling, auto scaling, autoscaler, scale out, scale up, scaling
backlog, queue backlog, pile up, piled up, queue growth, queue buildup
retry storm, retries, retry, retrying, retried, request storm, reconnect storm, retry amplification, thundering herd
cache stampede, thundering herd, dogpile, dog-pile, cache miss storm, cold cache
ddos, denial of service, dos attack, distributed denial of service, traffic flood
bot, bots, crawler, scraper, spider, web crawler, automated client
user agent, user-agent, useragent
block, blocked, ban, banned, blacklist, blocklist, denylist, deny list
abuse, abusive traffic, malicious traffic, attack traffic
latency, slowness, slow response, response time, high latency, slow
timeout, timeouts, timed out, time out, deadline exceeded
connection pool, connection pool exhaustion, too many connections, max connections, connection limit
thread pool, thread starvation, worker exhaustion, thread exhaustion
file descriptors, too many open files, fd exhaustion, file descriptor limit

# --- compute and memory --------------------------------------------------------------
oom, out of memory, out-of-memory, oom killer, oom-killer, memory exhaustion, ran out of memory, out of ram, memory pressure
ram, memory, main memory
memory leak, leaking memory, leaked memory, leak
cpu, processor, cpu usage, cpu load
high cpu, cpu spike, cpu saturation, cpu exhaustion, cpu pegged, pegged the cpu, pinned the cpu, cpu pinned, 100% cpu, cpu starvation
garbage collection, garbage collector, gc, gc pause, gc pauses, stop-the-world
heap, heap size, java heap, heap space, heap exhaustion
jvm, java virtual machine, java
regular expression, regex, regexp, regexes, regular expressions, pattern matching
catastrophic backtracking, pathological regex, redos, regex denial of service, exponential backtracking
infinite loop, busy loop, runaway process
deadlock, deadlocked, lock contention, lock wait, livelock
race condition, concurrency bug, data race
kernel, linux kernel, operating system, os
server, host, machine, box, node, instance
virtual machine, vm, instance, compute instance, guest
hypervisor, virtualization, virtualisation host
hardware failure, hardware fault, failed hardware, bad hardware, faulty hardware

# --- storage ---------------------------------------------------------------------------
disk full, full disk, out of disk space, out of storage, out of space, no space left, no space left on device, disk space exhausted, ran out of disk, storage full, filesystem full, disk filled up, disk space
disk, drive, hard drive, hard disk, hdd, ssd, storage device
storage, disk space, storage capacity
disk failure, drive failure, failed disk, failed drive, bad disk, disk error
raid, raid array, disk array, raid controller
i/o, io, disk io, iops, input/output, io wait, iowait
nfs, network file system, file server, fileserver, nas, network storage, shared storage
filesystem, file system, fs, mount, mounted
corruption, corrupted, corrupt, data corruption, inconsistent data, inconsistency
data loss, lost data, loss of data, data was lost, lost writes
backup, backups, snapshot, snapshots, restore, restored from backup, backup restore
delete, deleted, deletion, removed, dropped, wiped, purged, erased, truncated
accidental deletion, accidentally deleted, deleted by mistake, unintended deletion, mistakenly deleted
object storage, blob storage, s3, bucket, buckets, cloud storage
replication, replicated, replicate, mirroring, mirror

# --- databases ---------------------------------------------------------------------------
database, db, databases, rdbms, datastore, data store
mysql, mariadb
postgres, postgresql
primary, master, leader, primary database, master database, writer
replica, replicas, slave, slaves, secondary, follower, read replica, read-only replica
replication lag, replag, replica lag, lagging, lag, fell behind, falling behind, behind the master, stale reads, stale data
failover, fail over, fail-over, switchover, switch over, promotion, promoted, master switch, fail-back, failback
standby, hot standby, passive, backup server, secondary
schema change, schema migration, migration, ddl, alter table, database migration, data definition language
index, indexes, indices, database index, missing index, unindexed
slow query, slow queries, long-running query, expensive query, full table scan, table scan, inefficient query
query plan, execution plan, query optimizer, optimiser, explain plan
transaction, transactions, commit, rollback of a transaction
table lock, metadata lock, locked table, locking, row lock
shard, sharding, shards, partition, partitioning
cache, caching, memcached, redis, cache layer, caches
cache invalidation, cache purge, cache flush, cache cleared, cache wipe, emptied the cache, purged the cache, evicted, eviction
elasticsearch, search cluster, search index, lucene, solr
kafka, message broker, broker, event stream, event bus
message queue, queue, pubsub, pub/sub, rabbitmq, amqp
job queue, job runner, jobrunner, background jobs, task queue, worker queue, async jobs
zookeeper, etcd, consul, coordination service
consistency, consistent, eventual consistency, split brain, split-brain

# --- networks --------------------------------------------------------------------------------
network, networking, connectivity, network connectivity
dns, domain name system, name resolution, resolver, resolvers, domain lookup, dns lookup, name server, nameserver, dns server, recursive resolver, dns resolution
bgp, border gateway protocol, route advertisement, route announcement, route leak, prefix announcement
routing, route, routes, routing table, route table
black hole, blackholed, black-holed, blackhole, traffic dropped, dropped traffic, null route
packet loss, dropped packets, packet drops, lossy link
load balancer, load-balancer, loadbalancer, lb, load balancing, haproxy, lvs, elb, alb, reverse proxy
firewall, firewall rule, firewall rules, acl, access control list, security group, iptables, ferm, packet filter
switch, network switch, top of rack, top-of-rack, tor switch, rack switch, access switch
router, core router, routers, edge router
fibre, fiber, fibre optic, fiber optic, optical fibre, optical fiber, fibre cut, fiber cut, cable cut, severed cable, cut cable
link, uplink, interconnect, circuit, transit, peering, backbone
cdn, content delivery network, edge cache, caching proxy, varnish, squid, edge
certificate, certificates, cert, certs, tls certificate, ssl certificate, x509, x.509
expired, expiry, expiration, expire, lapsed, out of date, not renewed
renewal, renew, renewed
tls, ssl, https, handshake
vpn, tunnel, ipsec
ip address, ip addresses, ip
network partition, partitioned, split brain, netsplit
congestion, network congestion, saturated link, link saturation, bandwidth exhaustion
bandwidth, throughput
mtu, jumbo frames, fragmentation
datacenter, data center, datacentre, data centre, data-center, facility, colo, colocation, server room
region, regions, availability zone, az, zone, zones
global, worldwide, all regions, every region, globally, everywhere
rack, racks, cabinet, server rack

# --- power and facilities ---------------------------------------------------------------------
power outage, power loss, power failure, loss of power, lost power, blackout, power cut, utility power, mains power, utility failure
generator, generators, backup generator, diesel generator, standby generator
ups, uninterruptible power supply, battery backup, batteries
electrical maintenance, power maintenance, electrical work, electrical switchgear, switchgear
pdu, power distribution unit, power strip, power supply, psu
cooling, air conditioning, air-conditioning, hvac, chiller, chillers, crac, cooling system, aircon, air handler
overheating, overheated, too hot, high temperature, thermal, heat, temperature
fire, fire suppression, smoke, fire alarm
severe weather, storm damage, lightning strike, hurricane, thunderstorm

# --- delivery and change ---------------------------------------------------------------------------
deploy, deployment, deployed, release, rollout, roll out, rolled out, push, pushed, ship, shipped
rollback, roll back, rolled back, revert, reverted, undo, back out, backed out
config change, configuration change, misconfiguration, misconfigured, bad config, config push, configuration update, config error, configuration error
configuration, config, settings, parameters
staged rollout, phased rollout, canary, canary release, gradual rollout, incremental rollout, progressive rollout, staggered rollout, safe deployment
all at once, simultaneously, at the same time, everywhere at once
feature flag, feature toggle, feature switch
puppet, configuration management, config management, chef, ansible, saltstack
package update, package upgrade, apt, apt-get, unattended upgrades, unattended-upgrades, automatic updates, auto-update, security updates, yum
update, updates, upgrade, upgrades, updated, upgraded
patch, hotfix, fix, bugfix
version mismatch, different versions, inconsistent versions, version skew, out of sync, mixed versions, partially deployed
sync, synced, synchronization, synchronisation, rsync, replicate code
bug, bugs, defect, software bug, glitch, error in the code
regression, regressed, breaking change
test, testing, tests, qa, quality assurance, test coverage
staging, staging environment, pre-production, test environment
typo, fat finger, fat-finger, fat-fingered, mistyped, wrong command, incorrect command, incorrect input, input error
human error, operator error, manual error, manual mistake, user error
script, maintenance script, automation, tooling
command, shell command, cli command
depool, depooled, out of rotation, taken out of service, removed from service, drain, drained, pulled from service, decommission, decommissioned
maintenance, planned maintenance, scheduled maintenance, maintenance window
migration, migrate, migrated, cutover
dependency, dependencies, upstream, third-party, third party, external service
code review, peer review, review
continuous integration, ci, ci/cd, build pipeline, pipeline

# --- monitoring ----------------------------------------------------------------------------------------
monitoring, alerting, alerts, alert, observability, monitors
page, paged, pager, paging, on-call, on call, oncall, pagerduty, escalation
unnoticed, undetected, not detected, went unnoticed, nobody noticed, silent failure, missed alert, no alert, alert did not fire
metrics, graphs, dashboard, dashboards, graphite, prometheus, grafana, telemetry
logs, logging, log files, log messages
health check, healthcheck, health checks, liveness probe, readiness probe, probe
false positive, false alarm, noisy alert, alert fatigue

# --- security ----------------------------------------------------------------------------------------------
compromise, compromised, breach, breached, hacked, hijacked, intrusion, unauthorized access, unauthorised access, account takeover, takeover
credentials, login credentials, password, passwords, logins, account credentials, stolen credentials
account, accounts, user account, user accounts
staff, employees, employee, personnel, workers
admin, administrator, admins, administrators, sysop, sysops, privileged account, superuser, root
deface, defaced, defacement, vandalism, vandalised, vandalized, vandal
2fa, two-factor, two factor, two-factor authentication, mfa, multi-factor, multifactor, multi-factor authentication, two-step verification, 2-step verification, second factor, one-time password, otp, totp
login, log in, logging in, sign in, sign-in, signin, logon, log on, authenticate, authentication
sso, single sign-on, oauth, identity provider, idp, saml
phishing, spear phishing, phished
malware, virus, ransomware, trojan
vulnerability, vulnerabilities, exploit, exploited, cve, security hole, security flaw, zero-day
key rotation, rotate keys, rotated keys, rotating keys, credential rotation, secret rotation, certificate rotation
signing key, private key, secret key, api key, access key, encryption key, secrets
permission, permissions, access control, authorization, authorisation, iam, privileges, access rights
encryption, encrypted, decryption, decrypt
leak, leaked, exposure, exposed, data leak, data exposure, disclosure

# --- messages and notifications ----------------------------------------------------------------------------
email, e-mail, mail, emails, smtp, mx, mail server
delivered, delivery, arriving, arrive, arrived, received, sent, bounced
sms, text message, text messages, texts
notification, notifications, push notification, push notifications

# --- platforms -----------------------------------------------------------------------------------------------
kubernetes, k8s, kube
api server, apiserver, kube-apiserver, control plane, master node
pod, pods, container, containers, docker, workload, workloads
cluster, clusters
api, apis, endpoint, endpoints, rest api, web service
serverless, lambda, cloud functions, functions
website, site, web site, web page, pages, wiki
browser, web browser, client
mobile app, app, apps, ios, android

# --- projects and teams ------------------------------------------------------------------------------------------
deadline, deadlines, due date, schedule, timeline, milestone
delay, delayed, late, slipped, slippage, overran, overrun, behind schedule
budget, cost, costs, spending, overspend, over budget, funding
scope creep, feature creep, scope change, requirements creep, gold plating
requirements, specification, spec, specs, requirement
communication, communications, comms, miscommunication, communication breakdown
stakeholder, stakeholders, sponsor, sponsors
customer, customers, user, users, end user, end users, client, clients
crunch, overtime, long hours, burnout, burn-out, exhaustion
turnover, attrition, staff leaving, people leaving, resignations
understaffed, short-staffed, short staffed, lack of staff, too few people, resourcing
training, onboarding, knowledge transfer, upskilling
documentation, docs, documented, undocumented, written down
runbook, playbook, procedure, procedures, checklist, standard operating procedure, sop
handover, hand-off, handoff, hand over
planning, plan, plans, roadmap
estimate, estimation, estimates, underestimated, overestimated, underestimate
prototype, prototyping, proof of concept, poc, mvp, minimum viable product
playtest, playtesting, user testing, usability testing, beta test, beta testing
marketing, promotion, publicity, advertising
launch, launched, go live, go-live, went live
contractor, contractors, outsourcing, outsourced, vendor, vendors, supplier, suppliers
decision, decisions, decision-making, sign-off, approval
meeting, meetings, standup, stand-up
morale, motivation, team spirit
management, manager, managers, leadership
scope, scoping
risk, risks, risk assessment, risk register
lessons learned, lessons learnt, takeaways, learnings

# --- AI and data incidents ----------------------------------------------------------------------------------------
bias, biased, discrimination, discriminatory, unfair, unfairness, prejudice
racial bias, racism, racist
gender bias, sexism, sexist
facial recognition, face recognition, face detection, facial analysis
self-driving, self driving, autonomous vehicle, autonomous vehicles, driverless, autopilot, autonomous driving, robotaxi
chatbot, chat bot, chatbots, conversational agent, virtual assistant, voice assistant
misinformation, disinformation, fake news, false information, false claims, hallucination
deepfake, deep fake, deepfakes, synthetic media, manipulated video
machine learning, ml, artificial intelligence, ai, neural network
algorithm, algorithmic, algorithms
privacy, personal data, surveillance, data protection, gdpr
hiring, recruitment, recruiting, job applicants, applicant screening
content moderation, moderation, moderator, moderators
hate speech, offensive content, toxic content, harmful content, abusive content
recommendation algorithm, recommender system, recommendations engine
wrongful arrest, false arrest, misidentification, misidentified
accident, collision, fatal accident

# --- communications and engagement -------------------------------------------------------------------------------
social media, social network, social networks
twitter, tweet, tweets, retweet
press, media, journalists, newspapers, news coverage
apology, apologise, apologize, apologised, apologized, sorry
hashtag, hashtags
audience, public, citizens
survey, surveys, questionnaire, poll, polls
consultation, engagement, public engagement, call for evidence
feedback, comments, responses, replies
reputation, brand, public perception
"""

"""What every scenario field means, for the JSON Schema that editors show as users type.

One entry per field, keyed by the field's path as a user sees it (``servers.*.keys.reachable``;
``*`` stands for a name the user chooses; detector fields are keyed by kind,
``detectors.rate.threshold``, or for every kind, ``detectors.*.retention``). Each says what the
field means in the model (``docs/model.md``), its unit, its default and where a value comes
from; :func:`annotate` adds the value syntax of the field's type after it. A new field needs
one new line here: ``tests/test_schema_descriptions.py`` fails for any field without one.
"""

from __future__ import annotations

import copy
from typing import Any

DESCRIPTIONS: dict[str, str] = {
    # Scenario
    "name": "The scenario's name: the title of its reports and the default output folder "
            "reports/<name>/. Required.",
    "extends": "A scenario file (relative to this one) that this one changes: mappings "
               "merge key by key, other values replace, a key left empty (~) removes it. For variants "
               "that must not copy their base. Default: none.",
    "description": "One or two sentences on what the scenario models, shown at the top of "
                   "the reports. Default: empty.",
    "timeline": "The four moments of the scenario (model.md, Time). Anchors start, "
                "vulnerable_since, disclosed and analysis name them in other time fields.",
    "servers": "Your TLS services, by a name you choose: each is hosts x workers processes "
               "with their own heaps, traffic and secrets. At least one.",
    "attackers": "The attackers to consider, by a name you choose: when, how fast and how "
                 "likely each one bled which servers. At least one.",
    "detectors": "Your logs and alerts, by a name you choose, each of one kind: what would "
                 "have recorded an attack, and for how long. Default: none.",
    "evidence": "What your retained logs showed, per detector name. Results 'given "
                "evidence' weigh each simulated history by how well it matches. Default: none "
                "stated.",
    "evidence.*": "What this detector's retained, noticed records showed: none (no alert at "
                  "all), benign_only (alerts from known public scanners at most) or seen (an "
                  "alert from an unknown source). From your own logs, read at analysis_at.",
    "claims": "The sentences of your disclosure statement, each as a bound on a probability "
              "that the run judges supported, refuted or inconclusive. Default: none.",
    "monte_carlo": "How many histories to simulate, with which seed and engine; the run's "
                   "--replications, --seed and --engine flags override it.",
    # Timeline
    "timeline.start": "When the simulation begins, with empty heaps and no open session. "
                      "Default: vulnerable_since. Put it a few restarts and a session ttl "
                      "before the first attack you consider; a long span costs run time.",
    "timeline.vulnerable_since": "When the vulnerable OpenSSL (1.0.1 to 1.0.1f) went into "
                                 "service; each server may narrow it with vulnerable_from. "
                                 "From your deployment records (facts.md §1: 1.0.1 was "
                                 "released 14 Mar 2012). Required.",
    "timeline.disclosed_at": "When the bug became public: 2014-04-07T17:27:00Z for "
                             "Heartbleed (facts.md §1). Attacks and patches are often written "
                             "relative to it (disclosed+12h). Required.",
    "timeline.analysis_at": "When your team read its logs and wrote the statement: the "
                            "simulation ends here, and log retention counts back from here. "
                            "Required.",
    # Servers
    "servers.*": "One TLS service: hosts x workers identical processes, each with its own "
                 "heap, its traffic, restarts, patch time and the secrets it holds.",
    "servers.*.role": "A label for reports (mail, vpn, public, ...); it changes nothing in the "
                      "model. Default: the server's name.",
    "servers.*.hosts": "TLS-terminating machines of this service; connections are spread "
                       "uniformly over all hosts x workers. Unit: machines. Default: 1. From "
                       "your inventory or load balancer.",
    "servers.*.workers": "Worker processes per host, each with its own heap (nginx "
                         "worker_processes, Apache MaxRequestWorkers). Unit: processes. "
                         "Default: 1 (nginx's default, facts.md §9). From your configuration.",
    "servers.*.heap_bytes": "The readable heap of one worker: the H of the capture formula "
                            "c = (min(L, H) - s + 1) / H for every secret that sets neither "
                            "capture nor region_bytes. Unit: bytes. Required unless every "
                            "secret sets capture or region_bytes. From the resident memory "
                            "(RSS) of a worker; typical sizes are unsourced (facts.md §9).",
    "servers.*.vulnerable_from": "When this server became vulnerable, if later than "
                                 "timeline.vulnerable_since. Default: vulnerable_since. From "
                                 "your change records.",
    "servers.*.patched_at": "When the fixed OpenSSL went live; patching restarts every worker, "
                            "clearing its memory. Default: never. From your change records.",
    "servers.*.heartbeat_off_at": "When the TLS heartbeat extension was switched off (the "
                                  "server stops answering heartbeats; workers do not "
                                  "restart). Default: never.",
    "servers.*.restart": "When workers restart, clearing every secret from their memory "
                         "(model.md, Worker lifetimes). Default: no scheduled restart.",
    "servers.*.restart.every": "The period of scheduled worker restarts (log-rotation "
                               "reloads, cron jobs). Default: none. From your configuration "
                               "and cron tables.",
    "servers.*.restart.jitter": "Each restart period varies uniformly within +/- this. "
                                "Default: 0s.",
    "servers.*.restart.max_requests": "A worker restarts after serving this many connections, "
                                      "attackers' included (Apache MaxRequestsPerChild; "
                                      "compiled default 10000 in 2.2, facts.md §9). Unit: "
                                      "connections. Default: no limit.",
    "servers.*.crash_probability": "The probability that an answered over-read crashes its "
                                   "worker (nothing captured, the worker restarts, the crash "
                                   "is logged). Unit: per heartbeat. Default: 0. Unsourced: "
                                   "an assumption, or from crash counts in your system logs.",
    "servers.*.traffic": "Legitimate traffic per host: it drives residency (next_request, "
                         "next_handshake), logins, sessions and max_requests.",
    "servers.*.traffic.handshakes_per_s": "Full TLS handshakes (private-key operations) per "
                                          "second per host; resumed sessions do not count. "
                                          "Each may leave transient key copies. Default: 0. "
                                          "From your TLS terminator's statistics.",
    "servers.*.traffic.logins_per_s": "Successful logins per second per host; each leaves "
                                      "its password in the worker that handled it and opens "
                                      "a session. Default: 0. From your application log.",
    "servers.*.traffic.requests_per_s": "All legitimate requests (connections) per second per "
                                        "host, logins and session requests included; each "
                                        "overwrites the previous request in the worker's "
                                        "buffer. Default, and minimum: logins_per_s x (1 + "
                                        "ttl x sessions.requests_per_s) (model.md rule 4). "
                                        "From your access log.",
    "servers.*.keys": "The server's RSA private key: the long-lived key and the transient "
                      "copies private-key operations leave. Required: every TLS server has "
                      "one.",
    "servers.*.keys.reachable": "The probability that, for one worker lifetime, the long-lived "
                                "key lies where over-reads reach (as 2 prime pieces); else it "
                                "cannot leak until the worker restarts. Required. From "
                                "facts.md §11: 8/8 when a worker's first private-key "
                                "operation is an ECDHE-RSA signature, 0/8 when it is an RSA "
                                "decryption, so use the share of your clients that negotiate "
                                "ECDHE-RSA.",
    "servers.*.keys.bits": "RSA key size; a piece is one prime, bits / 16 bytes. Unit: bits. "
                           "Default: 2048. From your certificate (openssl x509 -text).",
    "servers.*.keys.copies_per_handshake": "Transient key pieces each private-key operation "
                                           "leaves in freed memory; fractional values are an "
                                           "average. Default: 0. From facts.md §11: one "
                                           "partial copy per ECDHE-RSA signature, none per "
                                           "RSA decryption.",
    "servers.*.keys.copy_lifetime": "How long a transient copy stays: next_handshake (until "
                                    "the worker's next private-key operation, facts.md §11), "
                                    "next_request, or a mean duration (exponential). Default: "
                                    "next_handshake.",
    "servers.*.keys.piece_bytes": "Bytes of a prime an attacker needs whole in one over-read. "
                                  "Unit: bytes. Default: bits / 16. facts.md §11: the top 120 "
                                  "of 128 bytes survive and sufficed.",
    "servers.*.keys.region_bytes": "The size of the memory region key copies live in, when it "
                                   "differs from heap_bytes. Unit: bytes. Default: the "
                                   "worker's heap.",
    "servers.*.keys.capture": "A measured probability that one heartbeat returns a resident "
                              "key piece, replacing the capture formula. Unit: per heartbeat. "
                              "Default: computed from the formula. facts.md §11: 0.26 to 0.99 "
                              "for transient copies (median 0.84).",
    "servers.*.passwords": "Passwords typed at login: each login leaves its credential in the "
                           "worker that handled it. Default: the server holds none.",
    "servers.*.passwords.bytes": "The credential's length in the request, the piece size s. "
                                 "Unit: bytes. Default: 64. From your login form.",
    "servers.*.passwords.lifetime": "How long a credential stays: next_request (until the "
                                    "worker's next legitimate request, facts.md §11), "
                                    "next_handshake, or a mean duration. Default: "
                                    "next_request.",
    "servers.*.passwords.kind": "static (a captured password is reusable) or otp (a one-time "
                                "code, useless once captured). Default: static.",
    "servers.*.passwords.region_bytes": "The memory region credentials live in, when it "
                                        "differs from heap_bytes (recycled TLS read buffers: "
                                        "about 32 of about 17 KB, facts.md §9). Unit: bytes. "
                                        "Default: the worker's heap.",
    "servers.*.passwords.capture": "A measured probability that one heartbeat returns a "
                                   "resident credential, replacing the capture formula. Unit: "
                                   "per heartbeat. Default: computed from the formula. "
                                   "facts.md §11: 5160/5160 for the newest request; 0 for "
                                   "bytes the attacker's hello overwrites (the first ~225).",
    "servers.*.passwords.shared_address_probability": "The chance that an attacker's login "
                                                      "with a captured password comes from "
                                                      "the victim's own address (a shared "
                                                      "NAT or proxy), so a login log does not "
                                                      "record it (rule 22). Default: 0.",
    "servers.*.sessions": "Session tokens (cookies): every login opens a session valid for "
                          "ttl; its requests leave copies of the token. Default: none.",
    "servers.*.sessions.ttl": "How long a session stays valid after login (your idle or "
                              "absolute timeout). Required with sessions. From your "
                              "application settings.",
    "servers.*.sessions.requests_per_s": "Requests one open session makes per second, each "
                                         "leaving a token copy. Unit: per second per session. "
                                         "Required with sessions. From your access log "
                                         "(requests per session / session length).",
    "servers.*.sessions.bytes": "The token's length, the piece size s. Unit: bytes. Default: "
                                "32. From your cookie's value.",
    "servers.*.sessions.lifetime": "How long a token copy stays: next_request (facts.md §11), "
                                   "next_handshake, or a mean duration. Default: "
                                   "next_request.",
    "servers.*.sessions.binding": "The checks a stolen session's reuse must pass, a list "
                                  "(rules 9 and 21): ip (the victim's address), browser (the "
                                  "victim's browser fingerprint), concurrent (no request from "
                                  "the victim within concurrent_window); one word alone, or "
                                  "none for no check. A failed check blocks the reuse and the "
                                  "session log records it. Default: none. From your "
                                  "application's session checks.",
    "servers.*.sessions.browser_match_probability": "The chance an attacker presents the "
                                                    "victim's browser fingerprint at a reuse "
                                                    "(the browser check). The headers travel "
                                                    "with the cookie, but the attacker's own "
                                                    "hello overwrites the first 59 to 225 "
                                                    "bytes of the buffer (facts.md §11): "
                                                    "lower it when the attacker must guess "
                                                    "the User-Agent. Default: 1.",
    "servers.*.sessions.concurrent_window": "The concurrent check blocks a reuse when the "
                                            "victim's session made a request (its login "
                                            "included) this long before it. Unit: a "
                                            "duration. Default: 5m.",
    "servers.*.sessions.shared_address_probability": "The probability that an attacker shares "
                                                     "its victim's address (same NAT or "
                                                     "proxy), so ip binding does not stop it "
                                                     "and no address change is logged. "
                                                     "Default: 0. An assumption (unsourced).",
    "servers.*.sessions.region_bytes": "The memory region token copies live in, when it "
                                       "differs from heap_bytes. Unit: bytes. Default: the "
                                       "worker's heap.",
    "servers.*.sessions.capture": "A measured probability that one heartbeat returns a "
                                  "resident token copy, replacing the capture formula. Unit: "
                                  "per heartbeat. Default: computed from the formula. "
                                  "facts.md §11: 5160/5160 cookies returned.",
    # Attackers
    "attackers.*": "One attacker profile: its targets, active window, heartbeat rate and "
                   "size, and the prior probability that it existed.",
    "attackers.*.targets": "The servers it bleeds, by name. Required.",
    "attackers.*.rate": "Heartbeats per second per target server, summed over its sources. "
                        "Required. facts.md §10: about 175/s for the fastest challenge tool; "
                        "checkers send a handful.",
    "attackers.*.start": "When it starts: a time, or {between: [t1, t2]} for a start drawn "
                         "uniformly in that window. Required.",
    "attackers.*.start.between": "The window [earliest, latest] its start is drawn from, "
                                 "uniformly: for an attacker whose timing you do not know.",
    "attackers.*.duration": "How long it keeps sending after its start (clipped to the "
                            "timeline). Default: until analysis_at.",
    "attackers.*.presence": "The prior probability that this attacker existed at all; results "
                            "are given both given its presence and over it. Default: 1. An "
                            "assumption: facts.md §4 found no exploitation before disclosure "
                            "in the traces studied.",
    "attackers.*.heartbeats_per_connection": "Heartbeats sent on one connection (one "
                                             "worker). Default: 1 (ssltest.py, Metasploit; "
                                             "facts.md §6); 100 for einaros's tool (§10).",
    "attackers.*.payload_bytes": "The claimed payload length, i.e. the over-read L. Unit: "
                                 "bytes, 1 to 65535. Default: 65535, the maximum (facts.md "
                                 "§1).",
    "attackers.*.sources": "Distinct source addresses its connections come from; rate and "
                           "asymmetry detectors count per source. Default: 1.",
    "attackers.*.encrypted": "true when it bleeds after completing the handshake, so "
                             "byte-pattern IDS signatures cannot see its requests. Default: "
                             "false.",
    "attackers.*.key_ops_per_connection": "Private-key operations each of its connections "
                                          "causes (each leaves transient key copies). "
                                          "Default: 1 when encrypted, else 0.",
    "attackers.*.stop_when": "When it stops on a target, a list: key (once its key is "
                             "captured), patched (right after its first unanswered "
                             "connection, as heartleech classes a server as patched, facts.md "
                             "§6); never or [] sends during the whole window (rule 8). "
                             "Default: never.",
    "attackers.*.reuse": "What a malicious attacker does with what it captures, a list: "
                         "sessions (tries each captured session, rules 9 and 21), passwords "
                         "(logs in once with each captured static password, rule 22); [] or "
                         "none for a careful harvester that never touches an account, whom "
                         "a statement must also consider. Default: [sessions].",
    "attackers.*.benign": "true for known public scanners: what they capture is no "
                          "compromise and their alerts count as benign. Default: false.",
    # Detectors
    "detectors.*": "One log or alert source; its kind decides its other fields.",
    "detectors.signature": "An IDS signature on over-read heartbeat requests (claimed length "
                           "above the payload sent), as Snort, Suricata or Zeek rules.",
    "detectors.rate": "A per-source count of connections or heartbeats in windows, as a flow "
                      "(NetFlow) alert.",
    "detectors.asymmetry": "A per-source count of over-read response bytes in windows: the "
                           "bytes-per-packet behaviour of a bleed.",
    "detectors.crash": "A system log of worker crashes caused by over-reads.",
    "detectors.session": "An application log of refused session reuses and, with "
                         "log_address_change, of sessions used from a new address.",
    "detectors.login": "A mail or application login log: it records each login made with a "
                       "captured password from an address new to that account (rule 22), the "
                       "indicator of an account taken over.",
    "detectors.access_log": "An HTTP access log. It never sees a heartbeat (the over-read "
                            "happens in TLS, before HTTP): include it to show that it proves "
                            "nothing.",
    "detectors.*.kind": "The kind of log or alert: signature, rate, asymmetry, crash, session, "
                        "login or access_log (model.md, Detectors). Required.",
    "detectors.*.servers": "The servers it watches, by name. Default: all.",
    "detectors.*.deployed_at": "When it started recording; nothing before counts. Default: "
                               "from the start. From your change records.",
    "detectors.*.retention": "How long its records are kept: at analysis_at only newer "
                             "records can be seen. Default: forever. From your log "
                             "retention settings.",
    "detectors.*.notice_probability": "The probability that your review notices its retained "
                                      "alerts at all (drawn once per history). Default: 1.",
    "detectors.signature.matches_encrypted": "true for a protocol decoder (Zeek, Suricata's "
                                             "TLS parser) that sees heartbeats inside "
                                             "encrypted sessions; byte-pattern rules (Snort) "
                                             "cannot. Default: false (facts.md §5).",
    "detectors.signature.threshold": "Alert only when one source sends this many matching "
                                     "requests within window. Unit: requests. Default: alert "
                                     "on every match. Snort's rules: 3 within 1s (facts.md "
                                     "§5).",
    "detectors.signature.window": "The window of threshold (tumbling, aligned to start). "
                                  "Required with threshold.",
    "detectors.signature.replay_capture": "Length of full packet capture kept, so that the "
                                          "signature can match traffic from before "
                                          "deployed_at retroactively. Default: none.",
    "detectors.rate.threshold": "Alert when one source reaches this many connections (or "
                                "heartbeats, with count) in one window. Required. From your "
                                "flow alert's setting.",
    "detectors.rate.window": "The counting window (tumbling, aligned to start). Required.",
    "detectors.rate.count": "What is counted: connections or heartbeats. Default: "
                            "connections.",
    "detectors.asymmetry.threshold_bytes": "Alert when one source receives this many "
                                           "over-read response bytes in one window. Unit: "
                                           "bytes. Required.",
    "detectors.asymmetry.window": "The counting window (tumbling, aligned to start). "
                                  "Required.",
    "detectors.session.log_address_change": "true when a session used from a new address is "
                                            "logged, not only a refused reuse. Default: "
                                            "false.",
    # Claims
    "claims.*": "One sentence of your statement as a bound on a probability.",
    "claims.*.text": "The sentence as published, shown in the reports. Default: empty.",
    "claims.*.outcome": "What the sentence is about: key, password, password_reusable, "
                        "session, session_hijack (at least one captured), or detected (an "
                        "attacker would have been noticed). Required.",
    "claims.*.servers": "Limit the claim to these servers. Default: all.",
    "claims.*.attackers": "Limit the claim to these attackers. Default: every malicious one. "
                          "For outcome detected, instead of attacker: the claim must hold "
                          "for each of them and takes the worst verdict among them.",
    "claims.*.attacker": "For outcome detected: the attacker whose detection it bounds. "
                         "Required then.",
    "claims.*.given": "Judge it given the stated evidence, or given the prior (before "
                      "looking at logs). Default: evidence when the scenario states evidence, "
                      "else prior.",
    "claims.*.at_most": "Supported when the 95% upper bound of the probability is at most "
                        "this; refuted when the lower bound is above it. Required for capture "
                        "outcomes. bleedsim check warns when the replications are too few to "
                        "ever support it.",
    "claims.*.at_least": "For outcome detected: supported when the 95% lower bound of the "
                         "detection probability is at least this. Required then.",
    # Monte Carlo
    "monte_carlo.replications": "Simulated histories. More narrow the intervals (about "
                                "1/sqrt(n)); a bound b needs at least 3.84 (1 - b) / b to be "
                                "supportable. Default: 10000.",
    "monte_carlo.seed": "The random seed: the same scenario, seed and replications give "
                        "byte-identical results. Default: 0.",
    "monte_carlo.engine": "fast (closed form between state changes) or reference (every "
                          "event literally; slow, for checking). Default: fast.",
}

ROOT = ("A bleedsim scenario: your servers, the attackers to consider, your logs, what they "
        "showed and the claims of your statement (docs/scenario-format.md, "
        "docs/your-scenario.md).")

TITLES: dict[str, str] = {
    "": "bleedsim scenario",
    "timeline": "Timeline",
    "servers.*": "Server",
    "servers.*.restart": "Worker restarts",
    "servers.*.traffic": "Legitimate traffic per host",
    "servers.*.keys": "Private key",
    "servers.*.passwords": "Passwords",
    "servers.*.sessions": "Sessions",
    "attackers.*": "Attacker",
    "detectors.signature": "Signature detector (IDS)",
    "detectors.rate": "Rate detector (flows per source)",
    "detectors.asymmetry": "Asymmetry detector (bytes per source)",
    "detectors.crash": "Crash log",
    "detectors.session": "Session log",
    "detectors.login": "Login log",
    "detectors.access_log": "Access log",
    "claims.*": "Claim",
    "monte_carlo": "Monte Carlo settings",
}
"""User-facing titles of the schema's object types (instead of the models' class names)."""


def key_of(path: str) -> str:
    """The entry that describes ``path``: itself, or for a detector field of one kind the
    entry for every kind (``detectors.*.retention``) when there is no entry of its own."""
    parts = path.split(".")
    if path not in DESCRIPTIONS and parts[0] == "detectors" and len(parts) == 3:
        return f"detectors.*.{parts[2]}"
    return path


def annotate(schema: dict[str, Any]) -> dict[str, Any]:
    """Put each field's description, then its value syntax, and the titles into ``schema``.

    Fields without an entry are left as they are (the test finds them).
    """
    defs: dict[str, Any] = schema.get("$defs", {})
    schema["description"] = ROOT
    _visit(schema, "", defs, set())
    return schema


def field_paths(schema: dict[str, Any]) -> set[str]:
    """Every entry :func:`annotate` looks up for ``schema`` (which it leaves unchanged)."""
    seen: set[str] = set()
    copied = copy.deepcopy(schema)
    _visit(copied, "", copied.get("$defs", {}), seen)
    return seen


def _target(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    ref = node.get("$ref")
    return defs.get(ref.rsplit("/", 1)[-1]) if isinstance(ref, str) else None


def _describe(node: dict[str, Any], path: str, seen: set[str]) -> None:
    key = key_of(path)
    seen.add(key)
    meaning = DESCRIPTIONS.get(key)
    if meaning is None:
        return
    syntax = node.get("description")
    node["description"] = meaning if not syntax else f"{meaning} Written as {syntax}."


def _visit(obj: dict[str, Any], path: str, defs: dict[str, Any], seen: set[str]) -> None:
    if path in TITLES:
        obj["title"] = TITLES[path]
    for field, node in obj.get("properties", {}).items():
        here = f"{path}.{field}" if path else field
        _describe(node, here, seen)
        if (inner := _target(node, defs)) is not None:
            _describe(inner, here, seen)  # the type itself, for editors that show it
            _visit(inner, here, defs, seen)
        for option in node.get("anyOf", []):  # an inline object among a field's forms
            if "properties" in option:
                _visit(option, here, defs, seen)
        for value in node.get("patternProperties", {}).values():
            _entries(value, here, defs, seen)


def _entries(value: dict[str, Any], path: str, defs: dict[str, Any], seen: set[str]) -> None:
    """The values of a map of names: one model, a union by ``kind``, or a leaf."""
    if (inner := _target(value, defs)) is not None:
        _describe(inner, f"{path}.*", seen)
        _visit(inner, f"{path}.*", defs, seen)
        return
    options = value.get("oneOf") or value.get("anyOf")
    if options:
        _describe(value, f"{path}.*", seen)
        for option in options:
            inner = _target(option, defs)
            kind = (inner or {}).get("properties", {}).get("kind", {}).get("const")
            if inner is not None and isinstance(kind, str):
                _describe(inner, f"{path}.{kind}", seen)
                _visit(inner, f"{path}.{kind}", defs, seen)
        return
    _describe(value, f"{path}.*", seen)

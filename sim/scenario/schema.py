"""The scenario file format as pydantic models: the raw, unresolved shape of a YAML file.

These models check each field on its own (type, syntax, range) and refuse unknown fields, so a
typo is an error; checks that relate fields to each other, anchors and defaults that depend on
other fields are the resolver's job (:mod:`sim.scenario.resolve`). A field that defaults to
``None`` here has a default that depends on other fields (for example ``piece_bytes`` is
``bits / 16``); constant defaults are written on the field, so the JSON Schema shows them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator
from pydantic_core import PydanticCustomError

from sim.scenario import descriptions
from sim.scenario.fields import (
    AttackerStart,
    Bits,
    Count,
    Evidence,
    Flag,
    Label,
    ResidencyField,
    Name,
    Names,
    Natural,
    NonNegative,
    OptBinding,
    OptCount,
    OptCountWhat,
    OptDuration,
    OptEngine,
    OptGiven,
    OptLabel,
    OptName,
    OptNatural,
    OptNames,
    OptPasswordKind,
    OptPositiveDuration,
    OptProbability,
    OptRate,
    OptReuse,
    OptSize,
    OptStopWhen,
    OptTime,
    Outcome,
    PayloadSize,
    PositiveDuration,
    PositiveRate,
    Probability,
    Rate,
    Size,
    Text,
    Time,
)


class RawModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, arbitrary_types_allowed=True)

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        """An empty field is almost always a value forgotten; leaving it out asks for the default."""
        if value is None:
            raise PydanticCustomError(
                "value", "expected a value, got nothing (null); leave the field out to use its default")
        return value


class RawTimeline(RawModel):
    start: OptTime = None
    vulnerable_since: Time
    disclosed_at: Time
    analysis_at: Time


class RawRestart(RawModel):
    every: OptPositiveDuration = None
    jitter: OptDuration = None
    max_requests: OptCount = None


class RawTraffic(RawModel):
    handshakes_per_s: Rate = 0.0
    logins_per_s: Rate = 0.0
    requests_per_s: OptRate = None


class RawKeys(RawModel):
    reachable: Probability
    bits: Bits = 2048
    copies_per_handshake: NonNegative = 0.0
    copy_lifetime: ResidencyField = "next_handshake"
    piece_bytes: OptSize = None
    region_bytes: OptSize = None
    capture: OptProbability = None


class RawPasswords(RawModel):
    bytes: Size = 64
    lifetime: ResidencyField = "next_request"
    kind: OptPasswordKind = None
    shared_address_probability: Probability = 0.0
    region_bytes: OptSize = None
    capture: OptProbability = None


class RawSessions(RawModel):
    ttl: PositiveDuration
    requests_per_s: Rate
    bytes: Size = 32
    lifetime: ResidencyField = "next_request"
    binding: OptBinding = None
    shared_address_probability: Probability = 0.0
    browser_match_probability: Probability = 1.0
    concurrent_window: OptPositiveDuration = None
    region_bytes: OptSize = None
    capture: OptProbability = None


class RawServer(RawModel):
    role: OptLabel = None
    hosts: Count = 1
    workers: Count = 1
    heap_bytes: OptSize = None
    vulnerable_from: OptTime = None
    patched_at: OptTime = None
    heartbeat_off_at: OptTime = None
    restart: RawRestart | None = None
    crash_probability: Probability = 0.0
    traffic: RawTraffic | None = None
    keys: RawKeys
    passwords: RawPasswords | None = None
    sessions: RawSessions | None = None


class RawAttacker(RawModel):
    targets: Names
    rate: PositiveRate
    start: AttackerStart
    duration: OptPositiveDuration = None
    presence: Probability = 1.0
    heartbeats_per_connection: Count = 1
    payload_bytes: PayloadSize = 65535
    sources: Count = 1
    encrypted: Flag = False
    key_ops_per_connection: OptNatural = None
    stop_when: OptStopWhen = None
    reuse: OptReuse = None
    benign: Flag = False


class RawDetectorBase(RawModel):
    servers: OptNames = None
    deployed_at: OptTime = None
    retention: OptPositiveDuration = None
    notice_probability: Probability = 1.0


class RawSignature(RawDetectorBase):
    kind: Literal["signature"]
    matches_encrypted: Flag = False
    threshold: OptCount = None
    window: OptPositiveDuration = None
    replay_capture: OptPositiveDuration = None


class RawRate(RawDetectorBase):
    kind: Literal["rate"]
    threshold: Count
    window: PositiveDuration
    count: OptCountWhat = None


class RawAsymmetry(RawDetectorBase):
    kind: Literal["asymmetry"]
    threshold_bytes: Size
    window: PositiveDuration


class RawCrash(RawDetectorBase):
    kind: Literal["crash"]


class RawSession(RawDetectorBase):
    kind: Literal["session"]
    log_address_change: Flag = False


class RawLogin(RawDetectorBase):
    kind: Literal["login"]


class RawAccessLog(RawDetectorBase):
    kind: Literal["access_log"]


def _detector_kind(value: object) -> object:
    return value.get("kind") if isinstance(value, dict) else None


RawDetector = Annotated[
    Union[
        Annotated[RawSignature, Tag("signature")], Annotated[RawRate, Tag("rate")],
        Annotated[RawAsymmetry, Tag("asymmetry")], Annotated[RawCrash, Tag("crash")],
        Annotated[RawSession, Tag("session")], Annotated[RawLogin, Tag("login")],
        Annotated[RawAccessLog, Tag("access_log")],
    ],
    Discriminator(_detector_kind),
]
DETECTOR_MODELS: dict[str, type[RawDetectorBase]] = {
    "signature": RawSignature, "rate": RawRate, "asymmetry": RawAsymmetry,
    "crash": RawCrash, "session": RawSession, "login": RawLogin, "access_log": RawAccessLog,
}


class RawClaim(RawModel):
    text: Text = ""
    outcome: Outcome
    servers: OptNames = None
    attackers: OptNames = None
    attacker: OptName = None
    given: OptGiven = None
    at_most: OptProbability = None
    at_least: OptProbability = None


class RawMonteCarlo(RawModel):
    replications: Count = 10000
    seed: Natural = 0
    engine: OptEngine = None


class RawScenario(RawModel):
    """A scenario file: see ``docs/scenario-reference.md`` for every field."""

    extends: OptLabel = None
    """A base scenario file this one changes (``sim.scenario.extends``); merged by the loader."""
    name: Label
    description: Text = ""
    timeline: RawTimeline
    servers: dict[Name, RawServer]
    attackers: dict[Name, RawAttacker]
    detectors: dict[Name, RawDetector] = Field(default_factory=dict)
    evidence: dict[Name, Evidence] = Field(default_factory=dict)
    claims: dict[Name, RawClaim] = Field(default_factory=dict)
    monte_carlo: RawMonteCarlo = Field(default_factory=RawMonteCarlo)


def json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files, for editors and ``bleedsim schema``."""
    schema = descriptions.annotate(_drop_null_defaults(RawScenario.model_json_schema()))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema




def _drop_null_defaults(node: Any) -> Any:
    """Remove ``null`` from the schema: a field is left out to get its default, never null."""
    if isinstance(node, list):
        return [_drop_null_defaults(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _drop_null_defaults(v) for k, v in node.items() if not (k == "default" and v is None)}
    if "patternProperties" in out:
        out.setdefault("additionalProperties", False)
    if "anyOf" in out:
        options = [o for o in out["anyOf"] if o != {"type": "null"}]
        if len(options) == 1:
            del out["anyOf"]
            out = {**options[0], **out}
        else:
            out["anyOf"] = options
    return out

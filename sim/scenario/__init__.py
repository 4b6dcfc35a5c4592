"""Scenario files: load, validate and resolve them into the typed model engines read."""

from sim.scenario.canonical import canonical_json, scenario_sha256
from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.loader import load_scenario, parse_scenario
from sim.scenario.model import Scenario
from sim.scenario.schema import json_schema
from sim.scenario.summary import summary

__all__ = [
    "Problem",
    "Scenario",
    "ScenarioError",
    "canonical_json",
    "json_schema",
    "load_scenario",
    "parse_scenario",
    "scenario_sha256",
    "summary",
]

"""Prometheus: utilization of VMs and hosts from PromQL queries over the HTTP API."""

"""Configured external systems: vCenters, Hyper-V hosts, Prometheus and Zabbix servers."""

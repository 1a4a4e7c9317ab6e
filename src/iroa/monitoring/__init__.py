"""Monitoring cross-reference: Prometheus utilization and Zabbix coverage of inventory objects."""

"""Zabbix: which hosts Zabbix monitors, their availability and active problems (zabbix-utils)."""

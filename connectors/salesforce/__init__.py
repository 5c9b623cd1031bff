"""Salesforce: REST queryAll for incremental reads, Bulk API 2.0 for large full reads, through
simple-salesforce."""

from connectors.salesforce.client import SalesforceCredentials
from connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector", "SalesforceCredentials"]

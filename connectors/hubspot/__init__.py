"""HubSpot CRM connector: companies, contacts, deals and deal contacts over the official SDK."""

from connectors.hubspot.auth import HubSpotCredentials
from connectors.hubspot.connector import HubSpotConnector

__all__ = ["HubSpotConnector", "HubSpotCredentials"]

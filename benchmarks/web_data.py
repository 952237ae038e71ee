"""Bulk data for benchmarks/web.py, generated inside PostgreSQL with generate_series.

Shapes follow the product: one reporter and one first-round task per report, a second round for
10 %, one answered attempt per reached task and two unanswered ones per unreachable task, a score
per answered call, and tickets for unsatisfied first-round calls (topped up with problem tickets).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

STATIONS = 20
CATEGORIES = ["盗窃", "诈骗", "纠纷", "交通事故", "噪音扰民", "寻人", "损坏财物", "殴打他人", "家庭暴力",
              "电信诈骗", "走失", "其他求助"]

_SQL = [
    """INSERT INTO stations (id, code, name)
       SELECT g, 'S' || lpad(g::text, 3, '0'), '第' || g || '派出所' FROM generate_series(1, :stations) g""",
    """INSERT INTO reporters (id, name, created_at) SELECT g, '', now() FROM generate_series(1, :n) g""",
    """INSERT INTO phones (id, e164, raw_masked, valid, kind, do_not_call, created_at)
       SELECT g, '+86138' || lpad(g::text, 8, '0'), '138****' || lpad((g % 10000)::text, 4, '0'), true,
              'mobile', false, now()
       FROM generate_series(1, :n / 2) g""",
    """INSERT INTO reports (id, report_no, received_at, station_id, channel, category, tags, reporter_id,
                           phone_id, do_not_call, warnings, content_hash, plan_state, created_at)
       SELECT g, 'JJ' || lpad(g::text, 10, '0'),
              now() - (g % :days) * interval '1 day' - ((g::bigint * 7919) % 86400) * interval '1 second',
              1 + (g * 31) % :stations, (ARRAY['walk_in','phone','kiosk','transfer'])[1 + g % 4],
              ((:categories)::text[])[1 + (g * 17) % 12],
              (CASE WHEN g % 100 = 0 THEN '["domestic_violence"]' WHEN g % 100 = 1 THEN '["minor"]'
                    ELSE '[]' END)::json,
              g, 1 + g % (:n / 2), false, '[]'::json, md5(g::text), 'closed', now()
       FROM generate_series(1, :n) g""",
    """INSERT INTO callback_tasks (report_id, round, dedupe_key, status, survey, priority, call_at, due_at,
                                  attempts, max_attempts, reached, reasons, created_at, updated_at)
       SELECT r.id, 1, 'r1:' || r.id,
              CASE WHEN r.id % 10 < 7 THEN 'done' WHEN r.id % 10 < 9 THEN 'unreachable' ELSE 'skipped' END,
              'first_callback', 5, r.received_at + interval '1 day', r.received_at + interval '1 day',
              1, 3, r.id % 10 < 7, '[]'::json, r.received_at, r.received_at
       FROM reports r""",
    """INSERT INTO callback_tasks (report_id, round, dedupe_key, status, survey, priority, call_at, due_at,
                                  attempts, max_attempts, reached, reasons, created_at, updated_at)
       SELECT r.id, 2, 'r2:' || r.id, CASE WHEN r.id % 7 < 5 THEN 'done' ELSE 'unreachable' END,
              'second_minor', 5, r.received_at + interval '7 day', r.received_at + interval '7 day',
              1, 3, r.id % 7 < 5, '[]'::json, r.received_at, r.received_at
       FROM reports r WHERE r.id % 10 = 3""",
    """INSERT INTO call_attempts (task_id, attempt_no, phone_id, dialer, survey, state, disposition,
                                 started_at, answered_at, ended_at, score_state, qc_sampled)
       SELECT t.id, n, t.report_id % (:n / 2) + 1, 'asterisk', t.survey, 'ended',
              CASE WHEN t.reached THEN 'answered_complete' ELSE 'no_answer' END,
              t.due_at + n * interval '1 hour', CASE WHEN t.reached THEN t.due_at + interval '1 hour' END,
              t.due_at + n * interval '1 hour' + interval '2 minute',
              CASE WHEN t.reached THEN 'done' ELSE 'none' END, t.id % 50 = 0
       FROM callback_tasks t
       CROSS JOIN LATERAL generate_series(1, CASE WHEN t.reached THEN 1 ELSE 2 END) n
       WHERE t.status IN ('done', 'unreachable')""",
    """INSERT INTO scores (attempt_id, label, score, confidence, problems, urgent, reasons, method, conflict,
                          needs_review, text, ticket_state, created_at)
       SELECT a.id, l.label, 50, 0.8,
              (CASE WHEN l.label = 'unsatisfied' THEN '["slow"]' WHEN a.id % 500 = 0 THEN '["safety"]'
                    ELSE '[]' END)::json,
              a.id % 500 = 0, '[]'::json, 'lexicon', a.id % 97 = 0, a.id % 89 = 0, '', 'done',
              a.ended_at + interval '1 minute'
       FROM call_attempts a
       CROSS JOIN LATERAL (SELECT CASE WHEN (a.id * 13) % 100 < 60 THEN 'satisfied'
                                       WHEN (a.id * 13) % 100 < 80 THEN 'basically_satisfied'
                                       WHEN (a.id * 13) % 100 < 92 THEN 'unsatisfied'
                                       ELSE 'unknown' END AS label) l
       WHERE a.disposition = 'answered_complete'""",
    """INSERT INTO tickets (report_id, reason, problems, severity, status, station_id, source_attempt_id,
                           sla_due_at, resolved_at, verified_at, summary, created_at, updated_at)
       SELECT x.report_id, x.reason, '["slow"]'::json, 'normal',
              (ARRAY['verified','verified','verified','verified','verified','resolved','rectifying',
                     'assigned','open','reopened'])[1 + x.attempt_id % 10],
              x.station_id, x.attempt_id, x.opened + interval '72 hour', NULL, NULL, '', x.opened, x.opened
       FROM (SELECT t.report_id, r.station_id, a.id AS attempt_id, a.ended_at + interval '1 hour' AS opened,
                    CASE WHEN s.label = 'unsatisfied' THEN 'unsatisfied' ELSE 'problem:slow' END AS reason
             FROM scores s JOIN call_attempts a ON a.id = s.attempt_id
             JOIN callback_tasks t ON t.id = a.task_id JOIN reports r ON r.id = t.report_id
             WHERE t.round = 1 AND (s.label = 'unsatisfied' OR (s.label = 'basically_satisfied' AND a.id % 4 = 0))
             ORDER BY (s.label = 'unsatisfied') DESC, a.id
             LIMIT :tickets) x""",
    "SELECT setval(pg_get_serial_sequence('reports', 'id'), :n)",
    "SELECT setval(pg_get_serial_sequence('stations', 'id'), :stations)",
    "SELECT setval(pg_get_serial_sequence('reporters', 'id'), :n)",
    "SELECT setval(pg_get_serial_sequence('phones', 'id'), :n / 2)",
]


def generate(conn: Connection, reports: int, tickets: int, days: int = 365) -> None:
    params = {"n": reports, "tickets": tickets, "stations": STATIONS, "days": days,
              "categories": "{" + ",".join(CATEGORIES) + "}"}
    conn.execute(text("SET LOCAL synchronous_commit = off"))
    for sql in _SQL:
        conn.execute(text(sql), params)


def counts(conn: Connection) -> dict[str, int]:
    tables = ("reports", "callback_tasks", "call_attempts", "scores", "tickets")
    return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0) for t in tables}

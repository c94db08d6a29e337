"""One job lifecycle for every long job (plans, profiling runs, executions, imports).

The database row is the truth; a broker message is only a wake-up call. See
``service.py`` for claim / renew / progress / finish / fail / cancel and
``recovery.py`` for the takeover of jobs whose worker was lost.
"""

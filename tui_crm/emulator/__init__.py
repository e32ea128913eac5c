"""Local servers that speak the CRM backends' wire formats, for tests, benchmarks and `demo`.

Only `tui_crm.cli.demo` and `tui_crm.cli.emulator_cmd` may import this package
(checked by import-linter). Details and wire-format notes: docs/emulator.md.

Dataverse, from Python (the server runs in a background thread of the caller)::

    from tui_crm.emulator.dataverse import DataverseEmulator

    emulator = DataverseEmulator(records=20, seed=7)   # any DataverseConfig field as keyword
    url = emulator.start()          # "http://127.0.0.1:<free port>"; also `with emulator:`
    emulator.api_url                # url + "/api/data/v9.2/"
    emulator.authority              # url + "/<tenant id>" (what the 401 challenge names)
    emulator.scope                  # url + "/.default"
    emulator.stop()

Server-side changes, made "as another user" (colleague@example.com) unless
`as_user=` is given; bodies are Web API bodies (`x@odata.bind` for lookups)::

    record_id = emulator.create("account", {"name": "Made elsewhere"})   # table or set name
    etag = emulator.update("account", record_id, {"telephone1": "555"})
    emulator.delete("account", record_id)
    emulator.get("account", record_id) -> dict | None    # as a GET returns it, with @odata.etag
    emulator.records("account") -> list[dict];  emulator.count("account") -> int

Sign-in (user demo@example.com / demo, any client id, client secret demo-secret)::

    emulator.pending_user_codes() -> list[str]
    emulator.approve_device_code(user_code=None)   # None: every pending code
    emulator.decline_device_code(user_code=None)
    emulator.expire_access_tokens(); emulator.revoke_refresh_tokens()
    emulator.expire_device_codes(); emulator.add_user(name, password, fullname) -> User

Traffic::

    emulator.set_fault_rate(0.2, kinds=None)   # kinds: 429 503 reset truncate stall
    emulator.queue_faults("truncate", "malformed", "status")   # next requests, in order
    emulator.set_latency(ms); emulator.set_rate_limit(requests, window_seconds)
    emulator.reset_budget(); emulator.expire_delta_tokens()
    emulator.faults_injected -> {kind: n}; emulator.request_counts -> {path: n}
    emulator.total_requests -> int
"""

"""A small Kolada API v3-compatible HTTP server over the bundled real snapshot.

Why: nothing here can reach api.kolada.se, so the client's tests, the offline demo and the
benchmarks talk to this server instead. It honours the v3 contract (envelope and paging, 25-id
limit, 410 on /v2, group means, `from_date` with tombstones, shuffled gender order) and can
inject transport faults and data corruption on purpose.

    >>> import requests
    >>> from kolada_pipeline.server import KoladaServer, Fault
    >>> with KoladaServer() as server:
    ...     server.add_fault(Fault("429", times=1, retry_after=0))
    ...     first = requests.get(server.base_url + "/kpi/N00945").status_code
    ...     second = requests.get(server.base_url + "/kpi/N00945").json()["values"][0]["id"]
    >>> first, second
    (429, 'N00945')
"""

from ._corrupt import CORRUPTION_KINDS
from ._faults import FAULT_KINDS, Fault
from ._http import KoladaServer, RequestRecord
from ._snapshot import BUNDLED_SNAPSHOT, SNAPSHOT_DATE, DataQuery, Snapshot

__all__ = [
    "BUNDLED_SNAPSHOT",
    "CORRUPTION_KINDS",
    "FAULT_KINDS",
    "SNAPSHOT_DATE",
    "DataQuery",
    "Fault",
    "KoladaServer",
    "RequestRecord",
    "Snapshot",
]

"""The result pager: GetPersonTracking pages, one at a time, as a table and as JSON."""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ipywidgets as W
import pandas as pd

from ...convert import response_to_dataframe, strip_extensions
from ...errors import InvalidParameterException
from ._common import _error_html, _table_html, job_status_html


@dataclass(frozen=True)
class PagerState:
    """Where a pager is: the job, the page size and order, and the tokens that led here.

    ``tokens[-1]`` is the NextToken of the page shown (None for the first page);
    ``next_token`` is the NextToken that page returned.

    Examples
    --------
    >>> from persontrack.analysis.widgets import PagerState
    >>> s = PagerState("job", 10, "TIMESTAMP").shown({"NextToken": "t1"})
    >>> s = s.forward().shown({"NextToken": "t2"})
    >>> s.page, s.request()["NextToken"]
    (2, 't1')
    >>> s.back().request().get("NextToken") is None
    True
    """

    job_id: str
    max_results: int = 1000
    sort_by: str = "TIMESTAMP"
    tokens: tuple[str | None, ...] = (None,)
    next_token: str | None = None

    @property
    def page(self) -> int:
        """1-based number of the page shown."""
        return len(self.tokens)

    @property
    def has_next(self) -> bool:
        return self.next_token is not None

    @property
    def has_previous(self) -> bool:
        return len(self.tokens) > 1

    def request(self) -> dict[str, Any]:
        """The ``get_person_tracking`` keyword arguments for the page shown."""
        req: dict[str, Any] = {
            "JobId": self.job_id,
            "MaxResults": int(self.max_results),
            "SortBy": self.sort_by,
        }
        if self.tokens[-1] is not None:
            req["NextToken"] = self.tokens[-1]
        return req

    def shown(self, response: Mapping[str, Any]) -> PagerState:
        """The state once ``response`` (the answer to :meth:`request`) is shown."""
        return dataclasses.replace(self, next_token=response.get("NextToken"))

    def forward(self) -> PagerState:
        """The state that requests the next page."""
        if self.next_token is None:
            raise InvalidParameterException("this is the last page")
        return dataclasses.replace(self, tokens=(*self.tokens, self.next_token), next_token=None)

    def back(self) -> PagerState:
        """The state that requests the previous page."""
        if len(self.tokens) < 2:
            raise InvalidParameterException("this is the first page")
        return dataclasses.replace(self, tokens=self.tokens[:-1], next_token=None)


_TABLE_COLUMNS = [
    "Timestamp",
    "Index",
    "Left",
    "Top",
    "Width",
    "Height",
    "Confidence",
    "FaceConfidence",
    "FaceYaw",
]


def page_table(response: Mapping[str, Any]) -> pd.DataFrame:
    """The ``Persons`` of one GetPersonTracking page as a compact table.

    Columns: Timestamp, Index, the box, Confidence, FaceConfidence, FaceYaw (those no entry
    of the page has are left out) and Face (whether a face was seen).

    Examples
    --------
    >>> from persontrack.analysis.widgets import page_table
    >>> page = {"JobStatus": "SUCCEEDED", "Persons": [{"Timestamp": 40, "Person": {"Index": 1,
    ...     "BoundingBox": {"Left": 0.1, "Top": 0.2, "Width": 0.3, "Height": 0.4}}}]}
    >>> page_table(page)[["Timestamp", "Index", "Left"]].values.tolist()
    [[40.0, 1.0, 0.1]]
    """
    df = response_to_dataframe(dict(response))
    out = df[_TABLE_COLUMNS].copy()
    out["Face"] = df["FaceLeft"].notna()
    # plain Rekognition pages carry no person Confidence: leave out what no entry has
    return out[[c for c in out.columns if not (len(out) and out[c].isna().all())]]


def page_json(response: Mapping[str, Any], *, max_persons: int = 3) -> str:
    """One page as indented JSON, without persontrack's extensions and ResponseMetadata;
    only the first ``max_persons`` entries of ``Persons`` are written out in full.
    """
    shown = strip_extensions({k: v for k, v in response.items() if k != "ResponseMetadata"})
    persons = shown.get("Persons", [])
    if len(persons) > max_persons:
        shown["Persons"] = [*persons[:max_persons], f"... {len(persons) - max_persons} more"]
    return json.dumps(shown, indent=1)


class ResultPager(W.VBox):
    """Page through a job's GetPersonTracking results.

    Parameters
    ----------
    client : PersonTrackingClient
        The client that ran the job.
    job_id : str, optional
        Shown and fetched at once when given.
    max_results : int, default 10
        Entries per page.
    """

    def __init__(self, client: Any, job_id: str | None = None, *, max_results: int = 10) -> None:
        self.client = client
        self.state: PagerState | None = None
        self.response: dict[str, Any] | None = None
        self.job_id = W.Text(
            value=job_id or "", description="JobId", layout=W.Layout(width="600px")
        )
        self.max_results = W.BoundedIntText(
            value=max_results, min=1, max=1000, description="MaxResults"
        )
        self.sort_by = W.Dropdown(options=["TIMESTAMP", "INDEX"], description="SortBy")
        self.get_button = W.Button(description="Get results", button_style="primary")
        self.prev_button = W.Button(description="Previous", icon="arrow-left", disabled=True)
        self.next_button = W.Button(description="Next", icon="arrow-right", disabled=True)
        self.info = W.HTML("")
        self.table = W.HTML("")
        self.json = W.HTML("")
        tabs = W.Tab([self.table, self.json])
        tabs.set_title(0, "Table")
        tabs.set_title(1, "JSON")
        self.get_button.on_click(lambda _: self.first())
        self.prev_button.on_click(lambda _: self.previous())
        self.next_button.on_click(lambda _: self.next())
        super().__init__(
            [
                W.HTML("<h3 style='margin:4px 0'>GetPersonTracking pages</h3>"),
                self.job_id,
                W.HBox([self.max_results, self.sort_by]),
                W.HBox([self.get_button, self.prev_button, self.next_button]),
                self.info,
                tabs,
            ]
        )
        self.add_class("persontrack-pager")
        if job_id:
            self.first()

    def _show(self, state: PagerState) -> dict[str, Any] | None:
        try:
            response = self.client.get_person_tracking(**state.request())
        except Exception as exc:
            self.info.value = _error_html(exc)
            return None
        self.state, self.response = state.shown(response), response
        n = len(response.get("Persons", []))
        first = (state.page - 1) * state.max_results
        token = response.get("NextToken")
        self.info.value = (
            f"{job_status_html(response)} · page {state.page} · "
            + (f"entries {first + 1}–{first + n}" if n else "no entries")
            + (f" · NextToken <code>{html.escape(token[:16])}…</code>" if token else " · last page")
        )
        self.table.value = _table_html(page_table(response))
        self.json.value = (
            f"<pre style='max-height:320px;overflow:auto'>{html.escape(page_json(response))}</pre>"
        )
        self.prev_button.disabled = not self.state.has_previous
        self.next_button.disabled = not self.state.has_next
        return response

    def first(self) -> dict[str, Any] | None:
        """Fetch the first page for the JobId, MaxResults and SortBy shown."""
        state = PagerState(
            self.job_id.value.strip(), int(self.max_results.value), self.sort_by.value
        )
        return self._show(state)

    def next(self) -> dict[str, Any] | None:
        """Fetch the page after the one shown (with its NextToken)."""
        if self.state is None or not self.state.has_next:
            return None
        return self._show(self.state.forward())

    def previous(self) -> dict[str, Any] | None:
        """Fetch the page before the one shown."""
        if self.state is None or not self.state.has_previous:
            return None
        return self._show(self.state.back())

"""What every dashboard page shares: the settings' marts, cached per published refresh, a watcher
that reruns the page when a refresh publishes, and charts that say so plainly when there is
nothing to draw yet."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from ingestion.config.settings import Settings
from ingestion.serving import source

# The freshness objective the pipeline is built to: source to dashboard within two minutes.
FRESHNESS_TARGET_SECONDS = 120.0
# How often an open page looks for a new publish (a stat of the serving copy's link): seconds
# against a refresh that publishes every few tens of seconds, so a gift reaches the screen within
# seconds of its publish, and no one presses a button.
WATCH_SECONDS = 3.0


@st.cache_resource
def settings() -> Settings:
    return Settings.from_environment()


@st.cache_data(ttl=300, show_spinner=False, max_entries=256)
def _query(sql: str, published: float) -> pd.DataFrame:
    # `published` is only part of the cache key: a new refresh misses the cache.
    return source.query(settings(), sql)


def query(sql: str) -> pd.DataFrame:
    """A query's result as of the latest published refresh."""
    return _query(sql, source.version(settings()))


def follow_publishes() -> None:
    """Rerun the whole page once a refresh has published: every query misses its cache (keyed
    to the publish) and reads the new refresh."""
    seen = source.version(settings())

    @st.fragment(run_every=WATCH_SECONDS)
    def watch() -> None:
        if source.version(settings()) != seen:
            st.rerun(scope="app")

    watch()


def chart(
    title: str, frame: pd.DataFrame, spec: alt.Chart | alt.LayerChart | alt.FacetChart
) -> None:
    st.subheader(title)
    if frame.empty:
        st.info(f"{title}: no data yet")
        return
    st.altair_chart(spec, width="stretch")


def measures_over_time(title: str, frame: pd.DataFrame, time: str, measures: list[str]) -> None:
    """One line per measure (columns of ``frame``) against the refresh it was taken in."""
    long = frame.melt(id_vars=time, value_vars=measures, var_name="measure", value_name="seconds")
    chart(
        title,
        frame,
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{time}:T", title="refresh"),
            y=alt.Y("seconds:Q"),
            color=alt.Color("measure:N", title=None),
        ),
    )


def table(title: str, frame: pd.DataFrame) -> None:
    st.subheader(title)
    if frame.empty:
        st.info(f"{title}: none")
        return
    st.dataframe(frame, hide_index=True, width="stretch")

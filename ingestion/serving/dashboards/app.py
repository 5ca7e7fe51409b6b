"""Entry point of ``accfb dashboard``: the four audiences' pages and where their data comes from."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ingestion.serving import source
from ingestion.serving.dashboards.common import follow_publishes, query, settings

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="ACCFB dashboards", layout="wide")
page = st.navigation(
    [
        st.Page(PAGES / "fundraising.py", title="Fundraising", default=True),
        st.Page(PAGES / "finance.py", title="Finance"),
        st.Page(PAGES / "disaster_response.py", title="Disaster response"),
        st.Page(PAGES / "operations.py", title="Operations"),
    ]
)
with st.sidebar:
    if settings().dbt_target == "local":
        try:
            published = query("select warehouse_path, published_at from ops.serving_published")
        except source.NotPublished as missing:
            st.error(str(missing))
            st.stop()
        row = published.iloc[0]
        st.caption(f"Serving copy of {Path(row.warehouse_path).name}")
        st.caption(f"published {row.published_at:%Y-%m-%d %H:%M:%S} UTC")
    else:
        st.caption(f"Redshift marts, target {settings().dbt_target}")
    follow_publishes()
page.run()

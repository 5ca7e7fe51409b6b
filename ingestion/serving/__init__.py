"""What people look at: the serving copy of the marts, live SQL, dashboards, the lineage site.

DuckDB lets one process hold the local warehouse file at a time, and the pipeline holds it
while it runs. After each refresh the marts (and the two operations logs without donor data)
are therefore copied into a separate file, written under a temporary name and swapped in with
``os.replace``, so readers open it read-only, any number at once, and always see one whole
refresh. ``accfb sql`` and the Streamlit dashboards (``accfb dashboard``) read that copy on the
local default and the Redshift marts on a Redshift target; ``accfb docs`` builds and serves the
dbt docs lineage site. Everything binds 127.0.0.1 only.
"""

"""The Streamlit dashboards (``accfb dashboard``): one page per audience, SQL over the marts."""

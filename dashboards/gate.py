"""Optional access gate: when a dashboard password is configured, nothing renders without it."""

from __future__ import annotations

import hmac

import streamlit as st

from dashboards import queries as q

SECRET_KEY = "dashboard_password"


def configured_password() -> str | None:
    """`dashboard_password` from Streamlit secrets, else ARREARS_DASHBOARD_PASSWORD (settings)."""
    if st.secrets.load_if_toml_exists() and st.secrets.get(SECRET_KEY):
        return str(st.secrets[SECRET_KEY])
    return q.settings().dashboard_password


def require_password(expected: str | None) -> None:
    """Stop the script run here until the visitor has entered `expected` (if set)."""
    if not expected or st.session_state.get("authenticated"):
        return
    st.title("Arrears")
    with st.form("sign_in"):
        given = st.text_input("Dashboard password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        # Constant-time comparison: response time must not leak how much of a guess was right.
        if hmac.compare_digest(given.encode(), expected.encode()):
            st.session_state["authenticated"] = True
            st.rerun()
        st.error("Wrong password.")
    st.stop()

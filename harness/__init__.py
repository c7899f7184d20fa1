"""Tools that start the real app and drive it, shared by tests and benchmarks.

- :mod:`harness.live_server`: ``streamlit run app.py`` on a free loopback port (and its peak
  memory);
- :mod:`harness.browser`: where headless Chromium is and how it is launched;
- :mod:`harness.protocol_client`: a session over Streamlit's websocket protocol, without a browser;
- :mod:`harness.classroom`: many sessions on one fresh server at once, and the figures of that run.

Nothing here is imported by the app (app.py, app_pages/, ui/, toolbox/).
"""

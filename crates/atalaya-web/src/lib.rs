//! Web interface and API.

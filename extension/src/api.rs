//! JSON shapes exchanged with api-server.

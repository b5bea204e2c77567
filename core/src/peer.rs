//! Both sides on one connection.

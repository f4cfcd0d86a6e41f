//! Unit tests of the API use cases against mocks.

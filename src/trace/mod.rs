//! `lockgate trace`: run migrations on a scratch database, statement by statement in their
//! runner's transaction model, and compare what the server did with what the lock model says.

pub mod observe;

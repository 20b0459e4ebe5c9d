pub mod action;
pub mod autonomy;
pub mod route;

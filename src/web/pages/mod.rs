pub mod action;
pub mod audit;
pub mod autonomy;
pub mod route;

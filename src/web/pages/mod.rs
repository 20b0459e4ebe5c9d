pub mod action;
pub mod autonomy;

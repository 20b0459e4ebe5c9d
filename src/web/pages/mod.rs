pub mod autonomy;

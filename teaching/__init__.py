"""Teaching material: the designs the guidance warns against, and the bench that measures them."""

"""The fail-reason codes of docs/fail-reasons.md, written out here so tests catch a table that
drops or misfiles one."""

CUSTOMER_CODES = [
    "customer_rejected_final_price",
    "customer_not_responding",
    "customer_address_wrong",
    "customer_not_available",
    "customer_changed_mind",
    "otp_not_provided",
    "device_not_accessible",
    "customer_asking_higher_price",
    "customer_wrong_device_details",
    "customer_cancelled_before_inspection",
]
VENDOR_CODES = [
    "wrong_inspection",
    "price_manipulation",
    "vendor_not_visiting",
    "arrived_late_beyond_sla",
    "rude_behaviour",
    "multiple_cancels_by_vendor",
    "inaccurate_inspection",
    "asking_extra_charges",
    "imei_mixing",
    "negotiating_outside_app",
    "forcing_price_acceptance",
    "intentional_delay",
]
FRAUD_CODES = ["device_taken_without_payment", "offline_payment_attempt"]
DISPUTED_CODES = ["device_mismatch", "device_defective_beyond_claim", "fraud_suspicion"]

# docs/payment-discrepancies.md.
DISCREPANCY_TYPES = [
    "transaction_failure",
    "partial_payment",
    "overpayment",
    "double_charge",
    "refund_issue",
    "chargeback",
]
RESOLUTIONS = ["refund", "invoice_adjustment", "payment_reprocessing"]

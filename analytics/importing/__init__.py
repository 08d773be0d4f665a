"""Import questionnaire responses from survey-tool exports (see parsed.py for the contract)."""

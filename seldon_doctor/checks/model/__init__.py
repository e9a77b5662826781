"""Model checks (SD1xx): can each Model be scheduled, loaded and served?"""

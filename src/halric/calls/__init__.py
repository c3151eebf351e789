"""Pilot-project calls: applications, budgets, eligibility, reviews, decisions, projects, KPIs, mail."""

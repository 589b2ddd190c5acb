"""Thin HTTP handlers: parse, authorise, call one service function, return a schema."""

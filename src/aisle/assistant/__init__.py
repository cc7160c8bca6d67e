"""The shopping and customer-service assistant: tools over search, orders and policies, a router (small local
LLM) or a tool-calling agent (OpenAI-compatible endpoint), a grounding guard, memory and safety rules.

Entry point: `aisle.assistant.service.Assistant`."""

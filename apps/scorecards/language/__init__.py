"""The rule language (DESIGN §5): parse with lark, compile to closures once, evaluate per entity."""

from .compiler import CompiledExpression, RuleSyntaxError, compile_expression
from .values import EntityFacts, IntegrationNotConfigured, RuleRuntimeError, SemVer

__all__ = [
    "CompiledExpression",
    "EntityFacts",
    "IntegrationNotConfigured",
    "RuleRuntimeError",
    "RuleSyntaxError",
    "SemVer",
    "compile_expression",
]

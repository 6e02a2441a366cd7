"""Conversation workflows (S4), pure: the JSON Schema generated from :mod:`dunning.models.workflows`
(:mod:`.schema`), validation (:mod:`.validate`), the interpreter (:mod:`.interpreter`) and its parts
(:mod:`.conditions`, :mod:`.answers`, :mod:`.mapping`, :mod:`.render`), diffs (:mod:`.diff`), the SVG
diagram (:mod:`.diagram`) and the shipped templates (:mod:`.templates`). No AWS, no I/O beyond reading the
package's own template files."""

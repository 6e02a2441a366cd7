"""Interactions (S3), pure: the rules in :mod:`dunning.interactions.domain`, mail parsing and signing in
:mod:`dunning.interactions.mail`, the web form's guard in :mod:`dunning.interactions.webform`. Nothing in this
package touches AWS."""

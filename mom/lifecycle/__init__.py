"""Lifecycle actions (issue 12): powering guests off and back on, and migrating them.

A policy asks through guest controls; :class:`mom.plugins.controllers.lifecycle.Lifecycle`
decides whether the action may run (:mod:`.gates`), runs it on its own worker
(:mod:`.worker`), remembers the guests it stopped (:mod:`.stopped`) and audits everything
(:mod:`.audit`).  README "Lifecycle actions".
"""

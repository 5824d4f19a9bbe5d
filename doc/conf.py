"""Sphinx configuration for building the pair style's page on its own, as the tests do
(sphinx-build -W doc OUT). The page is written as LAMMPS's own doc/src pages are, so that it can
also be dropped into LAMMPS's manual; here, its links to other LAMMPS pages point at the online
manual and its LAMMPS code blocks are shown as plain text."""

from docutils import nodes
from pygments.lexers.special import TextLexer

project = "mlff-student"
root_doc = "pair_mlff_student"
exclude_patterns = ["_build"]
html_theme = "basic"

LAMMPS_MANUAL = "https://docs.lammps.org/"


def link_to_lammps_manual(app, env, node, contnode):
    """A :doc: reference to a page of LAMMPS's manual, which this build does not hold."""
    if node.get("refdomain") != "std" or node.get("reftype") != "doc":
        return None
    target = node["reftarget"]
    return nodes.reference("", "", contnode, refuri=f"{LAMMPS_MANUAL}{target}.html", internal=False)


def setup(app):
    app.add_lexer("LAMMPS", TextLexer)
    app.connect("missing-reference", link_to_lammps_manual)

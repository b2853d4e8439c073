"""The graph model: node-link JSON round trip, validation, builder operations."""

import json

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlab import Graph, GraphError, gradients, parse_program


def test_node_link_json_round_trip_keeps_nodes_edges_and_attributes():
    g = parse_program("z = w0*x0 + w1*x1 + w2; a = sigmoid(z) + max(z, 0)*z")
    h = Graph.from_json(g.to_json())
    assert list(h.nx.nodes(data=True)) == list(g.nx.nodes(data=True))
    assert sorted(h.edges()) == sorted(g.edges())
    assert h.output == g.output
    at = dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)
    assert gradients(h, at).inputs["x0"].grad == gradients(g, at).inputs["x0"].grad


def test_node_link_data_is_networkx_readable():
    g = parse_program("f = x*x")
    data = json.loads(g.to_json())
    back = nx.node_link_graph(data, edges="edges")
    assert back.number_of_edges() == 2 and isinstance(back, nx.MultiDiGraph)


@pytest.mark.parametrize("text, message", [
    ("{", "not valid JSON"),
    ('{"nodes": 3}', "needs lists"),
    ('{"nodes": [{"id": "x"}], "edges": []}', "needs 'id' and 'kind'"),
    ('{"nodes": [{"id": "x", "kind": "input"}, {"id": "f", "kind": "op", "op": "nope"}], "edges": []}',
     "unknown operation"),
    ('{"nodes": [{"id": "x", "kind": "input"}], "edges": [{"source": "x", "target": "y", "key": 0}]}',
     "missing node"),
    ('{"nodes": [{"id": "x", "kind": "input"}, {"id": "f", "kind": "op", "op": "mul"}],'
     ' "edges": [{"source": "x", "target": "f", "key": 0}], "graph": {"output": "f"}}', "needs 2 argument"),
    ('{"nodes": [{"id": "x", "kind": "input"}], "edges": [], "graph": {"output": "q"}}', "not a node"),
])
def test_bad_node_link_json_is_refused(text, message):
    with pytest.raises(GraphError) as info:
        Graph.from_json(text)
    assert message in str(info.value)


def test_cycle_is_refused():
    g = parse_program("a = x + y; f = a*2")
    g.nx.add_edge("f", "t1" if "t1" in g else "a", key=5)
    with pytest.raises(GraphError, match="cycle"):
        g.validate()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=6))
def test_validate_finds_a_cycle_exactly_when_networkx_does(extra):
    """The one-pass check (wires forward in insertion order) against networkx's search, on a graph with extra
    wires in any direction, self-loops included: a cycle is named exactly when there is one."""
    g = parse_program("a = x*y; b = a + x; c = tanh(b); f = c*a")
    names = list(g.nx.nodes)  # x, y, a, b, c, f
    for i, (u, v) in enumerate(extra):
        g.nx.add_edge(names[u], names[v], key=10 + i)
    cyclic = not nx.is_directed_acyclic_graph(g.nx)
    with pytest.raises(GraphError) as info:  # the extra wires are beyond every gate's arity
        g.validate()
    assert ("cycle" in str(info.value)) == cyclic


def test_duplicate_names_and_bad_names_are_refused():
    g = Graph()
    g.input("x")
    with pytest.raises(GraphError, match="defined twice"):
        g.input("x")
    with pytest.raises(Exception, match="not a valid name"):
        g.input("1x")


def test_graph_without_output_says_so():
    g = Graph()
    g.input("x")
    with pytest.raises(GraphError, match="no output"):
        _ = g.output


def test_describe_names_the_gate_and_its_text():
    g = parse_program("a = 1/(1+exp(-z))")
    assert g.describe("a") == "a (gate 1/x, '1/(1+exp(-z))')"

import pytest

from streams.domain.routing import RoutingConfig, route


def facts(**values):
    base = {
        "type": "inquiry",
        "urgency": "normal",
        "complaint_grade": None,
        "channel": "app",
        "tier": "regular",
        "aspects": [],
    }
    return {**base, **values}


@pytest.mark.parametrize(
    ("request_type", "department"),
    [
        ("product_issue", "product"),
        ("service_request", "operations"),
        ("inquiry", "operations"),
        ("after_sales", "after_sales"),
        ("suggestion", "operations"),
        ("complaint", "cs_supervisor"),
    ],
)
def test_assignment_matrix_defaults(routing, request_type, department):
    grade = 3 if request_type == "complaint" else None
    assert route(routing, facts(type=request_type, complaint_grade=grade), 0.9).department == department


def test_service_complaint_is_copied_to_operations(routing):
    decision = route(routing, facts(type="complaint", complaint_grade=3, aspects=["service"]), 0.9)
    assert (decision.department, decision.cc) == ("cs_supervisor", ("operations",))


def test_grade_one_complaint_goes_to_the_task_force(routing):
    decision = route(routing, facts(type="complaint", complaint_grade=1), 0.9)
    assert decision.department == "complaint_taskforce"


def test_low_confidence_goes_to_triage_not_a_guess(routing):
    decision = route(routing, facts(type="product_issue"), 0.3)
    assert decision.department == "triage" and decision.rule == "triage"


def test_vip_is_owned_by_the_account_manager_with_the_department_copied(routing):
    decision = route(routing, facts(type="product_issue", tier="vip"), 0.9)
    assert decision.department == "vip_manager" and decision.cc == ("product",)


def test_vip_grade_one_complaint_stays_with_the_task_force_and_copies_the_manager(routing):
    decision = route(routing, facts(type="complaint", complaint_grade=1, tier="vip"), 0.9)
    assert decision.department == "complaint_taskforce"
    assert "vip_manager" in decision.cc


def test_reasons_explain_the_decision(routing):
    decision = route(routing, facts(type="after_sales"), 0.9)
    assert decision.reasons == ["rule after-sales → after_sales"]


def test_rule_naming_an_unknown_department_is_refused(routing):
    document = routing.model_dump()
    document["rules"][0]["department"] = "legal"
    with pytest.raises(ValueError, match="unknown department 'legal'"):
        RoutingConfig.model_validate(document)


def test_department_names_must_make_valid_topic_names(routing):
    document = routing.model_dump()
    document["departments"]["After Sales!"] = {}
    with pytest.raises(ValueError, match="becomes the topic"):
        RoutingConfig.model_validate(document)


def test_unknown_match_value_is_refused(routing):
    document = routing.model_dump()
    document["rules"][0]["match"] = {"type": "refund"}
    with pytest.raises(ValueError, match="unknown type"):
        RoutingConfig.model_validate(document)

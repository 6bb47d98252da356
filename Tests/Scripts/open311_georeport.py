"""Drives a Shequ node's Open311 GeoReport v2 endpoint with the `georeport` client from PyPI (JSON and XML,
the XML parsed by xmltodict as that client does), and creates one request with the standard's form-encoded POST.

usage: open311_georeport.py BASE_URL API_KEY    (BASE_URL ends in /open311/v2)
Prints one JSON object with what it read; exits non-zero on any error.
"""
import json
import sys

import requests
from georeport import GeoReport


def main(base, api_key):
    out = {}
    # Creation: the client cannot create requests, so this is the standard's form POST with api_key.
    created = requests.post(f"{base}/requests.json", data={
        "api_key": api_key, "service_code": "traffic", "lat": "31.4102", "long": "121.4417",
        "address_string": "月浦镇 盛桥路口", "description": "路口缺少红绿灯，老人过马路危险",
        "attribute[building]": "12号楼",
    }, timeout=30)
    out["created_status"] = created.status_code
    out["created"] = created.json()
    new_id = out["created"][0]["service_request_id"]
    out["bad_key"] = [requests.post(f"{base}/requests.json", data={"api_key": "nope", "service_code": "traffic", "address_string": "x"},
                                    timeout=30).status_code,
                      requests.post(f"{base}/requests.xml", data={"api_key": "nope", "service_code": "traffic"}, timeout=30).text]
    for fmt in ("json", "xml"):
        client = GeoReport(base, output_format=fmt)
        services = client.get_service_list()
        definition = client.get_service_definition("traffic")
        requests_all = client.get_service_requests()
        requests_open_traffic = client.get_service_requests(service_code="traffic", status="open")
        by_id = client.get_service_requests(service_request_id=new_id)
        one = client.get_service_request(new_id)
        if isinstance(requests_all, dict):  # xmltodict gives a dict for a single element
            requests_all = [requests_all]
        if isinstance(requests_open_traffic, dict):
            requests_open_traffic = [requests_open_traffic]
        if isinstance(by_id, dict):
            by_id = [by_id]
        attributes = definition["attributes"]
        if fmt == "xml":
            attributes = attributes["attribute"]
            attributes = [attributes] if isinstance(attributes, dict) else attributes
        out[fmt] = {
            "service_codes": [s["service_code"] for s in services],
            "service_names": [s["service_name"] for s in services],
            "definition_code": definition["service_code"],
            "attribute_codes": [a["code"] for a in attributes],
            "request_ids": [r["service_request_id"] for r in requests_all],
            "open_traffic_ids": [r["service_request_id"] for r in requests_open_traffic],
            "by_id": [r["service_request_id"] for r in by_id],
            "one": {k: (None if one.get(k) is None else str(one.get(k))) for k in ("service_request_id", "status", "service_code", "description", "agency_responsible",
                                           "expected_datetime", "requested_datetime", "address", "lat", "long")},
        }
    errors = requests.get(f"{base}/services/nonsense.xml", timeout=30)
    out["unknown_service"] = [errors.status_code, errors.text]
    window = requests.get(f"{base}/requests.json", params={"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-12-31T00:00:00Z"}, timeout=30)
    out["window_too_long"] = [window.status_code, window.json()]
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""The running consent service writes its access log on PostgreSQL as its own limited role,
and a principal reads back what its own coordinators did about a person."""

REGION, ALINGSAS = "region-14", "kommun-1489"


async def test_recording_and_searching_a_consent_leave_entries_the_principal_can_search(client, person):
    consent = await client.grant(REGION, person, [REGION, ALINGSAS])
    headers = client._auth(REGION, "coordinator")
    url = client.url("consent", "/v1/access-log/search")

    response = await client.http.post(url, json={"person": person}, headers=headers)
    other = await client.http.post(url, json={"person": person}, headers=client._auth(ALINGSAS, "coordinator"))

    assert response.status_code == 200, response.text
    entries = response.json()["entries"]
    assert [e["action"] for e in entries][:2] == ["access_log.search", "consent.record"]
    assert entries[1]["detail"] == {"consent_id": consent["id"]}
    assert person.replace("-", "") not in response.text
    assert [e["action"] for e in other.json()["entries"]] == ["access_log.search"]  # Alingsås did nothing else

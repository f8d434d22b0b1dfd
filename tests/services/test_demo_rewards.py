"""The reward demo against a real broker and Redis: one view a second, a snapshot kept for
each, scores already agreeing with the truth when the traffic ends."""

from adcraft.services.demo.rewards import RewardDemo


def test_a_view_each_second_and_scores_agreeing_with_the_truth(reward_settings):
    job = RewardDemo(reward_settings, events_per_s=500, seconds=4)
    views = list(job.run())
    assert len(views) >= 3
    assert all(view.startswith("t=") for view in views)
    assert [s.elapsed for s in job.history] == sorted(s.elapsed for s in job.history)
    assert len(job.history) == len(views)
    assert job.stop.is_set()
    assert job.history[-1].titles and job.history[-1].rho > 0.5

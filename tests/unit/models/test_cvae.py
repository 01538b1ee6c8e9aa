import torch

from hubscout.models.cvae import ConditionalVAE, CVAEConfig


def test_samples_are_images_of_the_prior_latent():
    torch.manual_seed(0)
    module = ConditionalVAE(CVAEConfig(latent_dim=4, width=8, condition_dim=8), 5).eval()
    condition = torch.eye(5)[:3]
    with torch.inference_mode():
        images = module.sample(condition, torch.Generator().manual_seed(1))
        latent = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
        expected = module.decode(latent, condition)
    assert images.shape == (3, 3, 32, 32)
    assert torch.equal(images, expected) and images.min() >= 0 and images.max() <= 1


def test_the_forward_pass_reconstructs_with_a_posterior():
    module = ConditionalVAE(CVAEConfig(latent_dim=4, width=8, condition_dim=8), 5)
    reconstruction, mean, log_var = module(torch.rand(2, 3, 32, 32), torch.eye(5)[:2])
    assert reconstruction.shape == (2, 3, 32, 32) and mean.shape == log_var.shape == (2, 4)
